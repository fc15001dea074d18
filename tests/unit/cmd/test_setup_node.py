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

import configparser
import io
import os
import stat
from unittest import mock

import fixtures
import testtools

from novadocker.cmd import setup_node
from novadocker.setup import ini
from novadocker.setup import node

NOVA_CONF = """\
[DEFAULT]
# Defines which driver to use for controlling virtualization.
#compute_driver = <None>
compute_driver = libvirt.LibvirtDriver
debug = true

[libvirt]
virt_type = kvm
"""
GLANCE_CONF = """\
[DEFAULT]
bind_port = 9292
# what the seeds' deployments wrote
container_formats = ami,ari,aki,bare,ovf
"""
FILTERS = """\
# novadocker: start novadocker's privsep daemon
[Filters]
privsep-novadocker: RegExpFilter, privsep-helper, root, privsep-helper
"""
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class SetupNodeTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.nova = self._write('nova.conf', NOVA_CONF, 0o640)
        self.glance = self._write('glance-api.conf', GLANCE_CONF)
        self.filters = self._write('src.filters', FILTERS)
        self.rootwrap = os.path.join(self.dir, 'rootwrap.d')
        self.socket = self._write('docker.sock', '', 0o660)

    def _write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def _read(self, path):
        with open(path) as f:
            return f.read()

    def _main(self, *extra, roles=('compute', 'controller'),
              skip_group=True):
        argv = ['--nova-conf', self.nova, '--glance-conf', self.glance,
                '--rootwrap-dir', self.rootwrap,
                '--filters-file', self.filters,
                '--docker-option', 'host_url=unix://' + self.socket]
        for role in roles:
            argv += ['--role', role]
        if skip_group:
            argv.append('--skip-group')
        out = io.StringIO()
        code = setup_node.main(argv + list(extra), out=out)
        return code, out.getvalue()

    def _snapshot(self):
        return {path: self._read(path) for path in (self.nova, self.glance)}

    def test_dry_run_prints_diffs_and_writes_nothing(self):
        before = self._snapshot()
        code, out = self._main('--dry-run')
        self.assertEqual(0, code)
        self.assertEqual(before, self._snapshot())
        self.assertFalse(os.path.exists(self.rootwrap))
        self.assertIn('--- %s\n+++ %s\n' % (self.nova, self.nova), out)
        self.assertIn('-compute_driver = libvirt.LibvirtDriver\n'
                      '+compute_driver = %s\n' % node.COMPUTE_DRIVER, out)
        self.assertIn('+[docker]\n+host_url = unix://%s\n' % self.socket,
                      out)
        self.assertIn('+++ %s/docker.filters\n' % self.rootwrap, out)
        self.assertIn('+privsep-novadocker: RegExpFilter', out)
        self.assertIn('+container_formats = ami,ari,aki,bare,ovf,docker',
                      out)
        self.assertIn('would be changed (dry run)', out)

    def test_real_run_then_second_run_changes_nothing(self):
        code, out = self._main()
        self.assertEqual(0, code, out)
        nova = self._read(self.nova)
        self.assertEqual(node.COMPUTE_DRIVER,
                         ini.get(nova, 'DEFAULT', 'compute_driver'))
        self.assertEqual('unix://' + self.socket,
                         ini.get(nova, 'docker', 'host_url'))
        # Comments and unrelated settings survive; the mode is kept.
        self.assertIn('# Defines which driver to use', nova)
        self.assertEqual('kvm', ini.get(nova, 'libvirt', 'virt_type'))
        self.assertEqual(0o640, stat.S_IMODE(os.stat(self.nova).st_mode))
        target = os.path.join(self.rootwrap, 'docker.filters')
        self.assertEqual(FILTERS, self._read(target))
        self.assertEqual(0o644, stat.S_IMODE(os.stat(target).st_mode))
        glance = self._read(self.glance)
        self.assertEqual('ami,ari,aki,bare,ovf,docker',
                         ini.get(glance, 'image_format', 'container_formats'))
        self.assertIn('restart nova-compute', out)

        after = self._snapshot()
        code, out = self._main()
        self.assertEqual(0, code)
        self.assertEqual(after, self._snapshot())
        self.assertEqual(3, out.count('already configured'), out)
        self.assertNotIn('---', out)
        self.assertEqual([], [n for n in os.listdir(self.dir)
                              if n.startswith('.novadocker-')])

    def test_only_hosts_skips_other_hosts(self):
        before = self._snapshot()
        code, out = self._main('--only-hosts', 'docker',
                               '--hostname', 'compute-1', roles=['compute'])
        self.assertEqual(0, code)
        self.assertIn('compute-1 does not match', out)
        self.assertEqual(before, self._snapshot())
        self.assertFalse(os.path.exists(self.rootwrap))

        code, out = self._main('--only-hosts', 'docker',
                               '--hostname', 'node-docker-2',
                               roles=['compute'])
        self.assertEqual(0, code)
        self.assertIn(node.COMPUTE_DRIVER, self._read(self.nova))
        # The controller role was not asked for: Glance is untouched.
        self.assertEqual(GLANCE_CONF, self._read(self.glance))

    def test_controller_role_only_touches_glance(self):
        code, _out = self._main(roles=['controller'])
        self.assertEqual(0, code)
        self.assertEqual(NOVA_CONF, self._read(self.nova))
        self.assertIn('docker', self._read(self.glance))

    def test_errors_exit_1_and_change_nothing(self):
        os.unlink(self.nova)
        self.nova = os.path.join(self.dir, 'missing.conf')
        code, _out = self._main()
        self.assertEqual(1, code)
        self.assertFalse(os.path.exists(self.nova))
        self.assertEqual(GLANCE_CONF, self._read(self.glance))
        self._write('missing.conf', NOVA_CONF)
        code, _out = self._main('--docker-option', 'no_such=1')
        self.assertEqual(1, code)
        self.assertEqual(NOVA_CONF, self._read(self.nova))
        code, _out = self._main('--filters-file', '/nonexistent/x.filters')
        self.assertEqual(1, code)

    def test_group_membership_through_usermod(self):
        with mock.patch.object(setup_node, 'in_group', return_value=False,
                               autospec=True):
            code, out = self._main('--nova-user', 'nobody', '--dry-run',
                                   skip_group=False)
            self.assertEqual(0, code)
            self.assertIn('would run: usermod -a -G docker nobody', out)
            # The real system's users must not change in a test: stop at
            # the process call and check its argument list.
            with mock.patch.object(setup_node.processutils,
                                   'execute', autospec=True) as execute:
                code, out = self._main('--nova-user', 'nobody',
                                       skip_group=False)
            self.assertEqual(0, code)
            execute.assert_called_once_with('usermod', '-a', '-G', 'docker',
                                            'nobody')

    def test_in_group(self):
        self.assertTrue(setup_node.in_group('root', 'root'))
        self.assertFalse(setup_node.in_group('nobody', 'root'))
        self.assertRaises(node.SetupError, setup_node.in_group,
                          'root', 'no-such-group-novadocker')
        self.assertRaises(node.SetupError, setup_node.in_group,
                          'no-such-user-novadocker', 'root')

    def test_warns_about_world_writable_socket(self):
        _code, out = self._main('--dry-run')
        self.assertNotIn('world-writable', out)
        os.chmod(self.socket, 0o666)
        _code, out = self._main('--dry-run')
        self.assertIn('%s is world-writable' % self.socket, out)

    def test_shipped_filters_lookup(self):
        self.assertEqual(os.path.join(ROOT, setup_node.FILTERS_IN_PACKAGE),
                         setup_node.filters_candidates()[0])
        missing = os.path.join(self.dir, 'nope.filters')
        self.assertRaises(node.SetupError, setup_node.shipped_filters,
                          [missing])
        self.assertEqual(self.filters, setup_node.shipped_filters(
            [missing, self.filters]))

    def test_console_script_is_declared(self):
        cfg = configparser.ConfigParser()
        cfg.read(os.path.join(ROOT, 'setup.cfg'))
        scripts = cfg.get('entry_points', 'console_scripts')
        self.assertIn('novadocker-setup-node = '
                      'novadocker.cmd.setup_node:main', scripts)
