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

"""Holding a container's entrypoint until its network is wired.

A container with Neutron ports runs in a network namespace of its own
(network mode ``none``), and its first program is ``novadocker-hold``
(``hold.c``, a static program bind-mounted read-only at
:data:`PROGRAM_TARGET`). It waits on a FIFO bind-mounted at
:data:`FIFO_TARGET` until the driver, having wired the namespace after
``docker start``, writes one byte into it (:func:`release`); then it
executes the image's entrypoint and command, unchanged. So the network
is complete before the workload runs, on every start, and no second
container holds the namespace.

Both mounts live under the container's ``/dev`` (a tmpfs of its own), so
that their mount points never reach its writable layer or a snapshot.
"""

import errno
import json
import os
import time

from oslo_concurrency import processutils
from oslo_log import log as logging

from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

PROGRAM_TARGET = '/dev/.novadocker/hold'
FIFO_TARGET = '/dev/.novadocker/ready'
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'hold.c')
# Seconds between two attempts to reach a program that is not waiting yet
# (it is being executed), and between two checks that its container still
# runs.
POLL = 0.001
ALIVE_EVERY = 0.5


def wrap(args, image_config, program, fifo):
    """``args`` (``translator.container_args``) for a held container.

    ``image_config`` is the image's ``Config``: Docker runs ``Entrypoint +
    Cmd``, with ``args['command']`` (``os_command_line``) in place of the
    image's ``Cmd`` when set. The same list follows the hold program and
    the FIFO, the entrypoint part in ``Entrypoint`` and the command part in
    ``Cmd``, as Docker would, so :func:`original` can give them back.
    """
    entrypoint = list(image_config.get('Entrypoint') or [])
    command = args.get('command')
    if command is None:
        command = list(image_config.get('Cmd') or [])
    args = translator.with_mounts(args, {PROGRAM_TARGET: program,
                                         FIFO_TARGET: fifo})
    args['entrypoint'] = [PROGRAM_TARGET, FIFO_TARGET] + entrypoint
    args['command'] = list(command)
    return args


def is_held(config):
    """Whether a container's ``Config`` starts with the hold program."""
    start = (config.get('Entrypoint') or [])[:2]
    return start == [PROGRAM_TARGET, FIFO_TARGET]


def original(config):
    """``(entrypoint, cmd)`` of a held container's ``Config`` as the
    image and Nova asked for them; None for a container that is not held.
    """
    if not is_held(config):
        return None
    return config['Entrypoint'][2:], list(config.get('Cmd') or [])


def commit_changes(config):
    """Dockerfile instructions for ``docker commit`` that give the image
    the entrypoint and command of ``original(config)`` (none for a
    container that is not held): a snapshot never starts with the hold
    program.
    """
    found = original(config)
    if found is None:
        return None
    entrypoint, cmd = found
    # CMD after ENTRYPOINT: setting an entrypoint clears the command.
    return ['ENTRYPOINT %s' % json.dumps(entrypoint),
            'CMD %s' % json.dumps(cmd)]


def make_fifo(path):
    """The FIFO at ``path`` (kept when it exists), readable by every user
    (a container's root may be remapped), written only by its owner.
    """
    try:
        os.mkfifo(path, 0o644)
    except FileExistsError:
        pass
    os.chmod(path, 0o644)


def release(path, timeout, running):
    """Let the held program at the FIFO ``path`` go on.

    Waits up to ``timeout`` seconds (0: a single attempt) for the program
    to open the FIFO; ``running()`` is asked now and then whether its
    container still runs. True once the program was told; False when no
    program waited.
    """
    deadline = time.monotonic() + timeout
    checked = time.monotonic()
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        else:
            try:
                os.write(fd, b'1')
            finally:
                os.close(fd)
            return True
        now = time.monotonic()
        if now >= deadline:
            return False
        if now - checked >= ALIVE_EVERY:
            if not running():
                return False
            checked = now
        time.sleep(POLL)


def build(output, compiler='cc'):
    """Compile ``hold.c`` into the static program ``output`` (mode 0755,
    in a directory of mode 0755), replacing it atomically.
    """
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    tmp = '%s.%d.tmp' % (output, os.getpid())
    try:
        processutils.execute(compiler, '-static', '-Os', '-s', '-Wall',
                             '-Werror', '-o', tmp, SOURCE)
        os.chmod(tmp, 0o755)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    LOG.info('Built %s from %s', output, SOURCE)


def up_to_date(output):
    """Whether ``output`` exists and is newer than ``hold.c``."""
    try:
        return os.stat(output).st_mtime >= os.stat(SOURCE).st_mtime
    except FileNotFoundError:
        return False
