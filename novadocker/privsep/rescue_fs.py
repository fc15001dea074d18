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

"""Privileged mounts of a stopped container's root file system for rescue.

Two entrypoints, calling mount(2) and umount2(2) directly: no shell and no
external command. Every path is checked to be absolute, normalised and
free of the characters that separate overlay options.
"""

import ctypes
import os
import re

import novadocker.privsep

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2
# Overlay options are one page at most.
MAX_OPTIONS = 4000
_PATH = re.compile(r'/[A-Za-z0-9_./-]*')


def _checked(path):
    if (not isinstance(path, str) or not _PATH.fullmatch(path) or
            os.path.normpath(path) != path or '/../' in path + '/'):
        raise ValueError('invalid path %r' % (path,))
    return path


def overlay_options(lowerdirs, upperdir, workdir):
    """The overlay mount options; ValueError when they cannot be."""
    if not lowerdirs:
        raise ValueError('no lower directories')
    options = 'lowerdir=%s,upperdir=%s,workdir=%s' % (
        ':'.join(_checked(d) for d in lowerdirs), _checked(upperdir),
        _checked(workdir))
    if len(options) > MAX_OPTIONS:
        raise ValueError('%d image layers are too many to mount'
                         % len(lowerdirs))
    return options


@novadocker.privsep.sys_admin_pctxt.entrypoint
def mount_overlay(lowerdirs, upperdir, workdir, target):
    """Mount the overlay of ``lowerdirs`` under ``upperdir`` at
    ``target`` (an existing directory).
    """
    options = overlay_options(lowerdirs, upperdir, workdir)
    if not os.path.isdir(_checked(target)) or os.path.ismount(target):
        raise ValueError('%s is no free directory' % target)
    if _libc.mount(b'overlay', target.encode(), b'overlay', 0,
                   options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'mount overlay at %s: %s'
                      % (target, os.strerror(err)))


@novadocker.privsep.sys_admin_pctxt.entrypoint
def unmount(target):
    """Unmount ``target`` if something is mounted there."""
    if not os.path.ismount(_checked(target)):
        return
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'unmount %s: %s' % (target, os.strerror(err)))
