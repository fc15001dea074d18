"""Pure helpers for turning a host into a Docker compute node.

Nothing here touches the file system: every function takes the current
text of a configuration file and returns the new text, so the setup
command can show a diff before writing anything.
"""
