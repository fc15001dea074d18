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


class DockerEngineTooOld(DockerDriverException):
    msg_fmt = _("The Docker engine at %(url)s speaks Engine API %(version)s; "
                "novadocker needs API %(minimum)s or later (Docker 20.10 or "
                "later)")
