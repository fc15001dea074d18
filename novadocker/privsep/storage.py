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

"""Privileged storage steps: probe, format, mount, unmount, grow.

Mounts and loop devices are made with system calls (``mount(2)``,
``umount2(2)``, the loop ioctls); ``blkid``, ``mkfs.ext4``, ``resize2fs``
and ``xfs_growfs`` run as commands with argument lists, never through a
shell. Every path is checked before use: mount points must be absolute,
normalised and free of symbolic links, devices must be block devices.
"""

import ctypes
import errno
import fcntl
import os
import stat

from oslo_concurrency import processutils

import novadocker.privsep

_libc = ctypes.CDLL(None, use_errno=True)

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
UMOUNT_NOFOLLOW = 0x8

LOOP_CTL_GET_FREE = 0x4C82
LOOP_CONFIGURE = 0x4C0A
LO_FLAGS_AUTOCLEAR = 4

# Filesystems a volume may carry, with the option that mounts them without
# writing (no journal replay) when the attachment is read-only.
FILESYSTEMS = {'ext2': 'noload', 'ext3': 'noload', 'ext4': 'noload',
               'xfs': 'norecovery'}
# How much of each end of a device must read as zeros before a device
# without any signature counts as blank.
BLANK_CHECK_BYTES = 1024 * 1024
# blkid's exit status when it found nothing. Any other failure (8: more
# than one signature) raises, which refuses the device.
BLKID_NOTHING = 2


class NotBlank(Exception):
    """The device holds something; it was not formatted."""


def _check_dir(path):
    """``path`` if it is an absolute, normalised directory path without
    symbolic links.
    """
    if (not isinstance(path, str) or not os.path.isabs(path) or
            os.path.normpath(path) != path or
            os.path.realpath(path) != path or not os.path.isdir(path)):
        raise ValueError('invalid mount point %r' % (path,))
    return path


def _check_device(path):
    if not isinstance(path, str) or not path.startswith('/dev/'):
        raise ValueError('invalid device %r' % (path,))
    if not stat.S_ISBLK(os.stat(path).st_mode):
        raise ValueError('%s is not a block device' % path)
    return path


def _check_file(path):
    if (not isinstance(path, str) or not os.path.isabs(path) or
            os.path.normpath(path) != path or
            os.path.realpath(path) != path or
            not stat.S_ISREG(os.lstat(path).st_mode)):
        raise ValueError('invalid disk file %r' % (path,))
    return path


def _check_fstype(fstype):
    if fstype not in FILESYSTEMS:
        raise ValueError('filesystem %r is not mountable here' % (fstype,))
    return fstype


def _raise_errno(what):
    error = ctypes.get_errno()
    raise OSError(error, '%s: %s' % (what, os.strerror(error)))


def _mount(source, target, fstype, flags, data):
    enc = (lambda s: s.encode() if s is not None else None)
    if _libc.mount(enc(source), enc(target), enc(fstype),
                   ctypes.c_ulong(flags), enc(data)) != 0:
        _raise_errno('mount %s on %s' % (source, target))


def _is_zero(f, offset, size):
    f.seek(offset)
    data = f.read(size)
    return data.count(0) == len(data)


def _blank_ends(device):
    with open(device, 'rb', buffering=0) as f:
        size = f.seek(0, os.SEEK_END)
        span = min(size, BLANK_CHECK_BYTES)
        return (_is_zero(f, 0, span) and
                _is_zero(f, max(0, size - span), span))


def _probe(device):
    out, _err = processutils.execute(
        'blkid', '-p', '-o', 'export', '--', device,
        check_exit_code=[0, BLKID_NOTHING])
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            fields[key] = value
    return fields


@novadocker.privsep.sys_admin_pctxt.entrypoint
def probe(device):
    """What ``blkid -p`` finds on ``device`` (``TYPE``, ``PTTYPE``,
    ``USAGE``, ``UUID``...), plus ``blank``: true when it found nothing at
    all and the device's first and last MiB read as zeros.
    """
    device = _check_device(device)
    fields = _probe(device)
    fields['blank'] = not fields and _blank_ends(device)
    return fields


@novadocker.privsep.sys_admin_pctxt.entrypoint
def format_blank(device):
    """Make an ext4 filesystem on ``device``, only if it is blank.

    The check runs again here, next to the format, so that nothing but a
    blank device is ever formatted. Raises NotBlank otherwise.
    """
    device = _check_device(device)
    if _probe(device) or not _blank_ends(device):
        raise NotBlank('%s is not blank; not formatting it' % device)
    # mkfs opens the device exclusively: it refuses a mounted device.
    processutils.execute('mkfs.ext4', '-q', '-E', 'nodiscard', '--', device)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def mount(device, target, fstype, read_only):
    """Mount ``device`` (``fstype``) on the directory ``target``, nosuid
    and nodev; read-only ones without replaying a journal.
    """
    flags = MS_NOSUID | MS_NODEV
    data = None
    if read_only:
        flags |= MS_RDONLY
        data = FILESYSTEMS[_check_fstype(fstype)]
    _mount(_check_device(device), _check_dir(target), _check_fstype(fstype),
           flags, data)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def unmount(target):
    """Flush and unmount ``target``; raises OSError(EBUSY) while it is in
    use (never detaches lazily). Not mounted is fine.
    """
    target = _check_dir(target)
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _libc.syncfs(fd)
    finally:
        os.close(fd)
    if _libc.umount2(target.encode(), UMOUNT_NOFOLLOW) != 0:
        if ctypes.get_errno() == errno.EINVAL:
            return False
        _raise_errno('unmount %s' % target)
    return True


@novadocker.privsep.sys_admin_pctxt.entrypoint
def make_shared(path):
    """Turn the directory ``path`` into a mount of its own in a peer group
    of its own, so mounts made below it later propagate to the slaves a
    container gets of it.
    """
    path = _check_dir(path)
    _mount(path, path, None, MS_BIND, None)
    _mount(None, path, None, MS_PRIVATE, None)
    _mount(None, path, None, MS_SHARED, None)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def grow(device, target, fstype):
    """Grow the mounted filesystem on ``device`` (at ``target``) to the
    device's size.
    """
    device = _check_device(device)
    target = _check_dir(target)
    if _check_fstype(fstype) == 'xfs':
        processutils.execute('xfs_growfs', target)
    else:
        processutils.execute('resize2fs', device)


class _LoopInfo64(ctypes.Structure):
    _fields_ = [('lo_device', ctypes.c_uint64),
                ('lo_inode', ctypes.c_uint64),
                ('lo_rdevice', ctypes.c_uint64),
                ('lo_offset', ctypes.c_uint64),
                ('lo_sizelimit', ctypes.c_uint64),
                ('lo_number', ctypes.c_uint32),
                ('lo_encrypt_type', ctypes.c_uint32),
                ('lo_encrypt_key_size', ctypes.c_uint32),
                ('lo_flags', ctypes.c_uint32),
                ('lo_file_name', ctypes.c_uint8 * 64),
                ('lo_crypt_name', ctypes.c_uint8 * 64),
                ('lo_encrypt_key', ctypes.c_uint8 * 32),
                ('lo_init', ctypes.c_uint64 * 2)]


class _LoopConfig(ctypes.Structure):
    _fields_ = [('fd', ctypes.c_uint32),
                ('block_size', ctypes.c_uint32),
                ('info', _LoopInfo64),
                ('reserved', ctypes.c_uint64 * 8)]


def _free_loop():
    ctl = os.open('/dev/loop-control', os.O_RDWR | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
    finally:
        os.close(ctl)


def _attach_loop(backing_fd, attempts=10):
    """An open loop device bound to ``backing_fd``; it detaches itself
    when its last user (the mount) goes away.
    """
    config = _LoopConfig(fd=backing_fd)
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR
    for _attempt in range(attempts):
        device = '/dev/loop%d' % _free_loop()
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, LOOP_CONFIGURE, config)
            return device, fd
        except OSError as e:
            os.close(fd)
            if e.errno != errno.EBUSY:
                raise
    raise OSError(errno.EBUSY, 'no free loop device')


@novadocker.privsep.sys_admin_pctxt.entrypoint
def mount_file(path, target):
    """Mount the ext4 filesystem in the regular file ``path`` on
    ``target`` through a loop device that goes away with the mount.
    """
    backing = os.open(_check_file(path),
                      os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        device, loop_fd = _attach_loop(backing)
    finally:
        os.close(backing)
    try:
        _mount(device, _check_dir(target), 'ext4', MS_NOSUID | MS_NODEV,
               None)
    finally:
        # With the mount made, the mount holds the loop device; without
        # it, closing frees the device again.
        os.close(loop_fd)
    return device
