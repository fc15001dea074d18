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

"""novadocker-setup-node: make this host a Docker compute node.

Idempotent: a second run changes nothing.  ``--dry-run`` prints the unified
diff of every file it would change and the commands it would run, and
writes nothing.

* ``--role compute`` (the default): ``compute_driver`` and the ``[docker]``
  section in nova.conf, the rootwrap filter file that lets nova-compute
  start novadocker's privsep daemon, and membership of the nova user in the
  ``docker`` group so nova-compute can use the Docker socket.
* ``--role controller``: Glance accepts ``container_format=docker``.

``--only-hosts PATTERN`` limits the compute role to hosts whose name
matches, so one command can be pushed to every node of a cloud.
"""

import argparse
import grp
import os
import pwd
import socket
import stat
import sys
import tempfile

from oslo_concurrency import processutils

import novadocker
from novadocker.setup import node

NOVA_CONF = '/etc/nova/nova.conf'
GLANCE_CONF = '/etc/glance/glance-api.conf'
ROOTWRAP_DIR = '/etc/nova/rootwrap.d'
FILTERS_IN_PACKAGE = os.path.join('etc', 'nova', 'rootwrap.d',
                                  node.FILTERS_NAME)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='novadocker-setup-node',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('--role', action='append',
                        choices=('compute', 'controller'),
                        help='what to configure; repeat for both '
                             '(default: compute)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the diffs and commands, change nothing')
    parser.add_argument('--only-hosts', metavar='PATTERN',
                        help='configure the compute role only when the host '
                             'name matches this regular expression '
                             '(case-insensitive search, e.g. "docker")')
    parser.add_argument('--hostname', default=socket.gethostname(),
                        help='the name --only-hosts matches (default: '
                             'this host\'s name)')
    parser.add_argument('--nova-conf', default=NOVA_CONF)
    parser.add_argument('--glance-conf', default=GLANCE_CONF)
    parser.add_argument('--rootwrap-dir', default=ROOTWRAP_DIR,
                        help='where nova-rootwrap reads its filter files')
    parser.add_argument('--filters-file',
                        help='the docker.filters to install (default: the '
                             'one shipped with novadocker)')
    parser.add_argument('--docker-option', action='append', default=[],
                        metavar='KEY=VALUE',
                        help='also set this [docker] option; repeatable')
    parser.add_argument('--nova-user', default='nova',
                        help='the user nova-compute runs as')
    parser.add_argument('--skip-group', action='store_true',
                        help='do not add --nova-user to the docker group')
    args = parser.parse_args(argv)
    args.role = args.role or ['compute']
    return args


def filters_candidates():
    """Where the packaged docker.filters may be: source tree, sys.prefix."""
    tree = os.path.dirname(os.path.dirname(os.path.abspath(
        novadocker.__file__)))
    return [os.path.join(tree, FILTERS_IN_PACKAGE),
            os.path.join(sys.prefix, FILTERS_IN_PACKAGE)]


def shipped_filters(candidates=None):
    """The first existing file of ``candidates``."""
    candidates = candidates or filters_candidates()
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise node.SetupError('cannot find %s in %s; pass --filters-file'
                          % (node.FILTERS_NAME, ' or '.join(candidates)))


def read_text(path, required=True):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        if required:
            raise node.SetupError('%s does not exist' % path)
        return None


def write_text(path, text, mode=0o644, root_owned=False):
    """Atomically replace ``path``, keeping an existing file's mode/owner.
    """
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, mode=0o755, exist_ok=True)
    try:
        st = os.stat(path)
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        owner = (0, 0) if root_owned else None
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.novadocker-')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(tmp, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class Run(object):
    """Collects and carries out (or, in dry-run mode, shows) the changes."""

    def __init__(self, dry_run, out):
        self.dry_run = dry_run
        self.out = out
        self.changed = 0

    def say(self, message):
        self.out.write(message + '\n')

    def edit(self, path, old, new, root_owned=False):
        if old == new:
            self.say('%s: already configured' % path)
            return
        self.changed += 1
        self.out.write(node.unified_diff(path, old, new))
        if self.dry_run:
            self.say('%s: would be changed (dry run)' % path)
            return
        write_text(path, new, root_owned=root_owned)
        self.say('%s: updated' % path)

    def command(self, argv):
        self.changed += 1
        if self.dry_run:
            self.say('would run: %s' % ' '.join(argv))
            return
        processutils.execute(*argv)
        self.say('ran: %s' % ' '.join(argv))


def in_group(user, group):
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        raise node.SetupError('group %r does not exist: install Docker '
                              '(the docker.io package creates it)' % group)
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise node.SetupError('user %r does not exist: is nova-compute '
                              'installed? (see --nova-user)' % user)
    return user in entry.gr_mem or account.pw_gid == entry.gr_gid


def warn_open_socket(run, host_url):
    """Warn about a world-writable Docker socket (root for every user)."""
    if not host_url.startswith('unix://'):
        return
    path = host_url[len('unix://'):]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        run.say('warning: Docker socket %s does not exist yet; is Docker '
                'running?' % path)
        return
    if mode & stat.S_IWOTH:
        run.say('warning: %s is world-writable, which gives every local '
                'user root on this host; restore it with: chmod 0660 %s'
                % (path, path))


def setup_compute(run, args, docker_options):
    nova_old = read_text(args.nova_conf)
    run.edit(args.nova_conf, nova_old,
             node.configure_nova(nova_old, docker_options))
    source = args.filters_file or shipped_filters()
    target = os.path.join(args.rootwrap_dir, node.FILTERS_NAME)
    run.edit(target, read_text(target, required=False), read_text(source),
             root_owned=True)
    if not args.skip_group:
        if in_group(args.nova_user, node.DOCKER_GROUP):
            run.say('user %s is already in group %s'
                    % (args.nova_user, node.DOCKER_GROUP))
        else:
            run.command(['usermod', '-a', '-G', node.DOCKER_GROUP,
                         args.nova_user])
    host_url = dict(docker_options).get('host_url',
                                        node.default_host_url())
    warn_open_socket(run, host_url)


def setup_controller(run, args):
    old = read_text(args.glance_conf)
    run.edit(args.glance_conf, old, node.configure_glance(old))


def main(argv=None, out=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    run = Run(args.dry_run, out)
    try:
        docker_options = [node.parse_docker_option(spec)
                          for spec in args.docker_option]
        compute_changed = False
        if 'compute' in args.role:
            if node.host_matches(args.only_hosts, args.hostname):
                setup_compute(run, args, docker_options)
                compute_changed = run.changed > 0
            else:
                run.say('%s does not match %r: compute role skipped'
                        % (args.hostname, args.only_hosts))
        if 'controller' in args.role:
            setup_controller(run, args)
    except (node.SetupError, OSError,
            processutils.ProcessExecutionError) as exc:
        sys.stderr.write('novadocker-setup-node: error: %s\n' % exc)
        return 1
    if compute_changed and not run.dry_run:
        run.say('restart nova-compute to apply the changes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
