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

"""novadocker-build-hold: build the program that holds a container's
entrypoint until its network is wired (``[docker] hold_program``).

Compiles ``novadocker/virt/docker/network/hold.c`` into a static program
with the host's C compiler (Debian: ``gcc`` and ``libc6-dev``). Quick when
the program is newer than its source, unless ``--force``.
"""

import argparse
import sys

from oslo_concurrency import processutils

from novadocker import conf
from novadocker.virt.docker.network import hold


def default_output():
    for opt in conf.ALL_OPTS:
        if opt.dest == 'hold_program':
            return opt.default
    raise LookupError('[docker] has no hold_program option')


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='novadocker-build-hold',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('--output', default=default_output(),
                        help='where to put the program (default: %(default)s,'
                             ' [docker] hold_program\'s default)')
    parser.add_argument('--cc', default='cc',
                        help='the C compiler (default: %(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='build even when the program is up to date')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.force and hold.up_to_date(args.output):
        return 0
    try:
        hold.build(args.output, args.cc)
    except (OSError, processutils.ProcessExecutionError) as e:
        print('novadocker-build-hold: %s' % e, file=sys.stderr)
        return 1
    print(args.output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
