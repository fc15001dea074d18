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

"""Root's password inside a running container (``openstack server set
--root-password``).

The image's own ``chpasswd`` runs through the engine's exec and reads
``root:<password>`` on its stdin: no shell, and the password is never on
a command line. ``chpasswd`` writes the new password file next to the old
one and renames it over, so the change is whole or absent. An image
without ``chpasswd`` gets Nova's "not supported" answer.
"""

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

COMMAND = ['chpasswd']
USER = 'root'
# Exit codes of an exec whose command does not exist or cannot run, also
# when the image has no root account to run it as.
NO_COMMAND = (126, 127)
EXEC_TIMEOUT = 30


def stdin_line(password):
    """``root:<password>\\n``: chpasswd reads one account per line, so a
    password may not hold a line break (nor a NUL byte).
    """
    if any(c in password for c in '\r\n\0'):
        raise exception.InvalidInput(
            reason=_('a password may not contain line breaks'))
    return ('%s:%s\n' % (USER, password)).encode('utf-8')


def set_password(client, containers, instance, password):
    """Set root's password in the instance's running container."""
    data = stdin_line(password)
    info = containers.inspect(instance)
    if not info['State'].get('Running') or info['State'].get('Paused'):
        raise exception.InstancePasswordSetFailed(
            instance=instance.uuid, reason=_('the container is not running'))
    _chpasswd(client, info['Id'], instance, data)


def set_in(client, container_id, instance, password):
    """Set root's password in another running container of the instance
    (its rescue container); the same errors as :func:`set_password`.
    """
    _chpasswd(client, container_id, instance, stdin_line(password))


def _chpasswd(client, container_id, instance, data):
    code, output = client.exec_with_input(container_id, COMMAND, data,
                                          EXEC_TIMEOUT)
    if code in NO_COMMAND:
        LOG.info('The image has no chpasswd; cannot set the password',
                 instance=instance)
        raise exception.SetAdminPasswdNotSupported()
    if code != 0:
        # chpasswd prints nothing of the password itself.
        LOG.warning('chpasswd failed with exit code %s: %s', code,
                    output.decode('utf-8', 'replace').strip(),
                    instance=instance)
        raise exception.InstancePasswordSetFailed(
            instance=instance.uuid,
            reason=_('chpasswd in the container failed (exit code %s)')
            % code)
    LOG.info('Root password set', instance=instance)
