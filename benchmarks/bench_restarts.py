#!/usr/bin/env python3
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

"""Time to serviceable after restarts, with ``-n`` servers (default 100)
that each have a port on real OVS.

Runs tests/functional/test_restarts.py at full size (its checks are the
definition of "serviceable": the API shows every server in the power
state the driver has, each running one pings the next over its wired
port, serial consoles answer through nova's proxy, console logs reach the
API, the volume holds its data, no container is doubled) and prints,
for each scenario, the seconds from the restart until every server is
serviceable, next to the engine's own stop+start (raw Docker):

* engine restart with ``live-restore`` off (the engine stops every
  container; Nova records SHUTOFF; the servers are started again through
  the API and wired again), then a simulated host reboot (every
  container and the engine stop; nova-compute starts with
  ``resume_guests_state_on_host_boot``);
* nova-compute restart (nothing stopped or re-plugged), then an engine
  restart with ``live-restore`` on (everything keeps running).

The exit status is pytest's: 0 when every check held at this size. Needs
root, Open vSwitch and tools/setup-host.sh's venv; each scenario starts
its own dockerd::

    python benchmarks/bench_restarts.py [-n 100] [-k LiveRestoreOn]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURE = re.compile(r'^(time to serviceable|engine stop\+start), .*$', re.M)
FAILURE = re.compile(r'^(FAILED|ERROR) |^\w*(Error|Exception): ')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--servers', type=int, default=100)
    parser.add_argument('-k', default=None,
                        help='only the scenarios pytest -k selects')
    args = parser.parse_args()
    env = dict(os.environ, NOVADOCKER_RESTART_SERVERS=str(args.servers))
    command = [sys.executable, '-m', 'pytest', '-s', '-q',
               '-p', 'no:cacheprovider',
               os.path.join(ROOT, 'tests', 'functional', 'test_restarts.py')]
    if args.k:
        command += ['-k', args.k]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                         text=True)
    figures = FIGURE.findall(run.stdout)
    for line in FIGURE.finditer(run.stdout):
        print(line.group(0))
    if run.returncode or not figures:
        with tempfile.NamedTemporaryFile('w', prefix='bench_restarts-',
                                         suffix='.log', delete=False) as f:
            f.write(run.stdout + run.stderr)
        for line in run.stdout.splitlines():
            if FAILURE.match(line):
                print(line)
        print('FAILED: a check did not hold with %d servers; the whole '
              'output is in %s' % (args.servers, f.name))
    return run.returncode or (0 if figures else 1)


if __name__ == '__main__':
    sys.exit(main())
