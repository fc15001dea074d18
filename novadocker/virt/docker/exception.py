"""Exceptions the Docker client wrapper raises.

Only ``client.py`` raises these for Docker errors; the driver turns them
into the Nova exceptions that decide what the compute manager does.
"""

from nova import exception
from nova.i18n import _


class DockerDriverException(exception.NovaException):
    msg_fmt = _("Docker error: %(reason)s")


class DockerNotFound(DockerDriverException):
    msg_fmt = _("Docker has no %(what)s: %(reason)s")


class DockerConflict(DockerDriverException):
    msg_fmt = _("Docker refused %(what)s because of a conflict: %(reason)s")


class DockerServerError(DockerDriverException):
    msg_fmt = _("The Docker engine failed %(what)s: %(reason)s")


class DockerUnreachable(DockerDriverException):
    msg_fmt = _("The Docker engine at %(url)s cannot be reached: %(reason)s")


class DockerTimeout(DockerUnreachable):
    msg_fmt = _("The Docker engine at %(url)s did not answer in time: "
                "%(reason)s")
