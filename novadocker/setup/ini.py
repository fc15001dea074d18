# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A small line-based INI editor that keeps comments, order and layout.

``configparser`` rewrites a whole file and drops its comments, which would
wreck an operator's hand-written nova.conf.  These functions change only
the lines they must and leave every other byte alone.  They understand the
oslo.config file syntax: ``[section]`` headers (a section may appear more
than once), ``key = value`` or ``key: value`` lines, ``#``/``;`` comments
and continuation lines that start with white space.
"""

import re

_SECTION = re.compile(r'^\s*\[([^\]]+)\]\s*$')
_ENTRY = re.compile(r'^([^\s#;=:\[][^=:]*?)\s*[=:]\s?(.*)$')
_COMMENTED = re.compile(r'^[#;]\s*([^\s#;=:\[][^=:]*?)\s*[=:]')


def _lines(text):
    return text.splitlines(True)


def _is_continuation(line):
    return line[:1] in (' ', '\t') and line.strip() != ''


def _entries(lines):
    """(section, key, first line, end line, value) of every active entry.

    ``end`` is one past the last continuation line of the entry.
    """
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip()
            i += 1
            continue
        entry = None if section is None else _ENTRY.match(line.rstrip('\n'))
        if entry is None:
            i += 1
            continue
        end = i + 1
        value = [entry.group(2).strip()]
        while end < len(lines) and _is_continuation(lines[end]):
            value.append(lines[end].strip())
            end += 1
        yield section, entry.group(1).strip(), i, end, '\n'.join(value)
        i = end


def _blocks(lines, section):
    """(header line, end line) of each block of ``section``."""
    blocks = []
    current = None
    for i, line in enumerate(lines):
        header = _SECTION.match(line)
        if not header:
            continue
        if current is not None:
            blocks.append((current, i))
            current = None
        if header.group(1).strip() == section:
            current = i
    if current is not None:
        blocks.append((current, len(lines)))
    return blocks


def get(text, section, key):
    """The value oslo.config would read for ``key`` (the last one), or None.
    """
    value = None
    for sect, name, _start, _end, val in _entries(_lines(text)):
        if sect == section and name == key:
            value = val
    return value


def _newline(text):
    return '\r\n' if '\r\n' in text else '\n'


def _terminated(lines, nl):
    if lines and not lines[-1].endswith('\n'):
        lines[-1] += nl
    return lines


def _insert_at(lines, section, key):
    """Where a new ``key`` line goes in ``section``.

    Right under the sample file's commented-out default when a block of the
    section has one, else after the last entry of the section's last block.
    """
    blocks = _blocks(lines, section)
    for start, end in blocks:
        for i in range(start + 1, end):
            commented = _COMMENTED.match(lines[i])
            if commented and commented.group(1).strip() == key:
                return i + 1
    start, end = blocks[-1]
    last = start + 1
    for i in range(start + 1, end):
        if lines[i].strip() and not lines[i].lstrip().startswith(('#', ';')):
            last = i + 1
    return last


def set_value(text, section, key, value):
    """``text`` with ``key = value`` in ``section``; other lines untouched.

    The first active ``key`` line of the section is rewritten in place and
    later ones, which would override it, are removed.  A missing key is
    added to the section (under its commented-out sample default when there
    is one); a missing section is added at the end of the file.
    """
    nl = _newline(text)
    lines = _terminated(_lines(text), nl)
    new_line = '%s = %s%s' % (key, value, nl)
    found = [(start, end) for sect, name, start, end, _val
             in _entries(lines) if sect == section and name == key]
    if found:
        first_start, first_end = found[0]
        if lines[first_start:first_end] == [new_line] and len(found) == 1:
            return text
        for start, end in reversed(found[1:]):
            del lines[start:end]
        lines[first_start:first_end] = [new_line]
        return ''.join(lines)
    if not _blocks(lines, section):
        if lines and lines[-1].strip():
            lines.append(nl)
        lines.extend(['[%s]%s' % (section, nl), new_line])
        return ''.join(lines)
    at = _insert_at(lines, section, key)
    lines.insert(at, new_line)
    return ''.join(lines)


def comment_out(text, section, key, note=None):
    """``text`` with every active ``key`` line of ``section`` commented out.

    ``note``, when given, is written as a comment line above the first one.
    """
    nl = _newline(text)
    lines = _terminated(_lines(text), nl)
    found = [(start, end) for sect, name, start, end, _val
             in _entries(lines) if sect == section and name == key]
    if not found:
        return text
    for index, (start, end) in enumerate(reversed(found)):
        lines[start:end] = ['#' + line for line in lines[start:end]]
        if note and index == len(found) - 1:
            lines.insert(start, '# %s%s' % (note, nl))
    return ''.join(lines)


def apply(text, settings):
    """``text`` with each ``(section, key, value)`` of ``settings`` set."""
    for section, key, value in settings:
        text = set_value(text, section, key, value)
    return text
