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

"""The instance's key pair as root's ``authorized_keys`` (``[docker]
inject_key``).

The file is written once, at spawn, and bind-mounted read-only at
``/root/.ssh/authorized_keys``: a restart or reboot mounts the same file
again and never appends to it, and nothing inside the container can
change it. An image that runs sshd then accepts the key pair's private
key for root.
"""

import unicodedata

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

from novadocker.virt.docker import instancefiles

LOG = logging.getLogger(__name__)

DIR_NAME = 'docker-keys'
FILE_NAME = 'authorized_keys'
TARGET = '/root/.ssh/authorized_keys'
DIR_MODE = 0o700
# sshd refuses an authorized_keys file that others can write; public keys
# need no secrecy.
FILE_MODE = 0o644


def authorized_keys(key_data):
    """The file's content: each key on its own line, blank lines and
    surrounding white space dropped.

    Keys are split on newlines only.  A key holding any other control
    character (which sshd or a terminal would read as something else, or
    Python's splitlines as a line break) raises InvalidInput.
    """
    lines = [line.strip() for line in key_data.split('\n')]
    for line in lines:
        if any(_is_control(c) for c in line):
            raise exception.InvalidInput(reason=_(
                'the key pair holds a control character: %r') % line)
    return ''.join('%s\n' % line for line in lines if line).encode('utf-8')


def _is_control(char):
    return char != '\t' and unicodedata.category(char) in ('Cc', 'Zl', 'Zp')


class AuthorizedKeys(object):
    def __init__(self, files):
        self._files = files

    def create(self, instance, inject):
        """Write the key file when ``inject`` is on and the instance has a
        key pair; returns ``{TARGET: host path}`` or ``{}``.
        """
        if not inject or not instance.key_data:
            return {}
        path = self._files.create(instance.uuid, DIR_NAME, DIR_MODE)
        target = '%s/%s' % (path, FILE_NAME)
        instancefiles.write_file(
            target, authorized_keys(instance.key_data), FILE_MODE)
        LOG.debug('Key pair %s goes to %s', instance.key_name, TARGET,
                  instance=instance)
        return {TARGET: target}

    def remove(self, instance):
        self._files.remove(instance.uuid, DIR_NAME)
