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

"""What is mounted where, from ``/proc/<pid>/mountinfo`` (no privilege)."""

import collections
import re

#: ``options`` are the mount's own (``rw``, ``relatime``...),
#: ``super_options`` its file system's (an overlay's ``lowerdir``...).
Mount = collections.namedtuple(
    'Mount', 'target source fstype options shared super_options')

_ESCAPE = re.compile(r'\\([0-7]{3})')


def _unescape(field):
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse(text):
    """``Mount`` tuples from the text of a mountinfo file."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(' - ')
        if not sep:
            continue
        fields = left.split()
        fstype, source, super_options = (right.split() + [''])[:3]
        optional = fields[6:]
        mounts.append(Mount(
            target=_unescape(fields[4]), source=_unescape(source),
            fstype=fstype, options=fields[5].split(','),
            shared=any(f.startswith('shared:') for f in optional),
            super_options=[_unescape(o)
                           for o in super_options.split(',')]))
    return mounts


def mounts(pid='self'):
    with open('/proc/%s/mountinfo' % pid) as f:
        return parse(f.read())


def find(target, pid='self'):
    """The topmost mount on ``target``, or None."""
    found = [m for m in mounts(pid) if m.target == target]
    return found[-1] if found else None


def below(directory, pid='self', inclusive=False):
    """Mount points strictly below ``directory`` (with ``inclusive``, on
    it too), deepest first; one read of the mount table.
    """
    top = directory.rstrip('/')
    return sorted({m.target for m in mounts(pid)
                   if m.target.startswith(top + '/') or
                   (inclusive and m.target == top)}, reverse=True)
