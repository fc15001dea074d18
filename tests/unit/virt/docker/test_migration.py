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

import json
import os
from unittest import mock

import fixtures

from nova import context
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import migration
from novadocker.virt.docker.network import hold
from tests.unit.virt.docker import docker_http


class MigrationsTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.http = self.useFixture(docker_http.DockerHTTP())
        self.client = docker_client.DockerClient(docker_http.URL)
        self.ctx = context.get_admin_context()
        self.instance = fake_instance.fake_instance_obj(self.ctx)
        self.path = self.useFixture(fixtures.TempDir()).path
        self.released = []
        self.migrations = migration.Migrations(
            self.client, None, '127.0.0.1', 30, self.path,
            self.released.append)

    def test_same_host_from_the_migration(self):
        mig = objects.Migration(source_compute='a', dest_compute='a')
        self.assertTrue(migration.same_host(self.ctx, self.instance, mig))
        mig.dest_compute = 'b'
        self.assertFalse(migration.same_host(self.ctx, self.instance, mig))

    def test_same_host_looks_the_migration_up(self):
        self.instance.migration_context = objects.MigrationContext(
            migration_id=7)
        with mock.patch.object(objects.Migration, 'get_by_id',
                               autospec=True, return_value=objects.Migration(
                                   source_compute='a',
                                   dest_compute='b')) as get:
            self.assertFalse(migration.same_host(self.ctx, self.instance))
        get.assert_called_once_with(self.ctx, 7)
        self.instance.migration_context = None
        self.assertTrue(migration.same_host(self.ctx, self.instance))

    def test_disk_info_without_a_stream_is_refused(self):
        for info in ('{}', 'not json', None):
            self.assertRaises(exception.MigrationError,
                              migration.stream_address, info)

    def _commit_of_a_held_container(self):
        """The engine commits and deletes the migration image; a container
        whose entrypoint the hold program holds. Returns (image, inspect).
        """
        ref = 'nova-migration:%s' % self.instance.uuid
        self.http.on('POST', '/commit', json={'Id': 'sha256:c0'})
        self.http.on('DELETE', '/images/' + ref, json=[])
        held = {'Id': 'cid', 'Config': {
            'Entrypoint': [hold.PROGRAM_TARGET, hold.FIFO_TARGET, '/init'],
            'Cmd': ['serve', 'it']}}
        return ref, held

    def test_send_commits_and_serves_then_cleans_up_on_close(self):
        ref, held = self._commit_of_a_held_container()
        info = json.loads(self.migrations.send(self.instance, held))
        address = info[migration.DISK_INFO_KEY]
        self.assertEqual('127.0.0.1', address['host'])
        self.assertEqual(64, len(address['token']))
        commit = self.http.calls('POST', '/commit')[0]
        self.assertEqual(['cid'], commit.qs['container'])
        # The layer starts as the container was made to, never held.
        self.assertEqual(['entrypoint ["/init"]', 'cmd ["serve", "it"]'],
                         commit.qs['changes'])
        self.migrations.close(self.instance)
        # Both the endpoint's end and close() remove it: idempotent.
        self.assertGreaterEqual(len(self.http.calls('DELETE')), 1)
        self.migrations.close(self.instance)

    def test_leftovers_of_a_restart_are_removed_and_nothing_else(self):
        self.http.on('GET', '/images/json', json=[
            {'RepoTags': ['nova-migration:u1', 'nova-migration:u2']},
            {'RepoTags': ['nova-migrationx:u3']}])
        self.http.on('DELETE', '/images/nova-migration:u1', json=[])
        self.http.on('DELETE', '/images/nova-migration:u2', status_code=409,
                     json={'message': 'in use'})
        self.migrations.remove_leftovers()
        self.assertEqual(['/v1.41/images/nova-migration:u1',
                          '/v1.41/images/nova-migration:u2'],
                         [r.path for r in self.http.calls('DELETE')])

    def test_instance_image_only_when_the_container_ran_it(self):
        self.migrations.remove_instance_image(self.instance, 'busybox')
        self.assertEqual([], self.http.calls('DELETE'))
        ref = migration.instance_ref(self.instance.uuid)
        self.http.on('DELETE', '/images/' + ref, status_code=404,
                     json={'message': 'no such image'})
        self.migrations.remove_instance_image(self.instance, ref)
        self.migrations.remove_instance_image(self.instance)
        self.assertEqual(2, len(self.http.calls('DELETE')))

    def test_pending_disk_info_is_private_and_forgotten(self):
        info = json.dumps({migration.DISK_INFO_KEY: {'token': 't'}})
        self.assertIsNone(self.migrations.pending(self.instance))
        self.migrations.remember(self.instance, info)
        self.assertEqual(info, self.migrations.pending(self.instance))
        top = os.path.join(self.path, self.instance.uuid)
        path = os.path.join(top, migration.PENDING_DIR,
                            migration.PENDING_FILE)
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        self.assertEqual(0o700, os.stat(top).st_mode & 0o777)
        self.migrations.forget(self.instance)
        self.assertIsNone(self.migrations.pending(self.instance))
        self.assertFalse(os.path.exists(top))
        self.assertRaises(exception.MigrationError,
                          self.migrations.remember, self.instance, '{}')

    def test_destination_word_ends_the_endpoint(self):
        ref, held = self._commit_of_a_held_container()
        for verb, released in (('built', []),
                               ('release', [self.instance])):
            info = self.migrations.send(self.instance, held)
            endpoint = self.migrations._endpoints[self.instance.uuid]
            self.migrations.remember(self.instance, info)
            getattr(self.migrations, verb)(self.instance, info)
            self.assertIsNone(self.migrations.pending(self.instance))
            self.assertTrue(endpoint.wait(10))
            self.assertEqual({}, self.migrations._endpoints)
            self.assertEqual(released, self.released)
        # A source that is gone: logged, and the record goes all the same.
        self.migrations.remember(self.instance, info)
        self.migrations.built(self.instance, info)
        self.assertIsNone(self.migrations.pending(self.instance))
