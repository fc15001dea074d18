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

from nova import exception
from nova import objects
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker.disks import ephemeral
from novadocker.virt.docker.disks import instancedisks


def _eph(num, size, fmt=None):
    return {'num': num, 'size': size, 'guest_format': fmt,
            'device_name': '/dev/vdb', 'disk_bus': None}


class EphemeralTest(test.NoDBTestCase):

    def test_disks(self):
        self.assertEqual([], ephemeral.disks(None))
        self.assertEqual([(0, 2), (1, 1)], ephemeral.disks(
            {'ephemerals': [_eph(1, 1), _eph(0, 2, 'ext4')]}))

    def test_other_formats_abort_the_build(self):
        self.assertRaises(exception.InvalidInput, ephemeral.disks,
                          {'ephemerals': [_eph(0, 1, 'xfs')]})

    def test_resize_keeps_the_size(self):
        inst = fake_instance.fake_instance_obj(None)
        inst.flavor.ephemeral_gb = 1
        same = objects.Flavor(name='same', ephemeral_gb=1)
        ephemeral.check_resize(inst, same)
        other = objects.Flavor(name='other', ephemeral_gb=2)
        self.assertRaises(exception.InstanceFaultRollback,
                          ephemeral.check_resize, inst, other)


class InstanceDisksTest(test.NoDBTestCase):

    def test_boot_from_volume_is_refused(self):
        inst = fake_instance.fake_instance_obj(None, image_ref='')
        self.assertRaises(exception.InstanceUnacceptable,
                          instancedisks.check_boot, inst)
        inst.image_ref = 'f0e1d2c3-0000-4000-8000-000000000001'
        instancedisks.check_boot(inst)

    def test_device_metadata_keeps_other_devices(self):
        inst = fake_instance.fake_instance_obj(None)
        nic = objects.NetworkInterfaceMetadata(mac='fa:16:3e:00:00:01',
                                               tags=['n'])
        inst.device_metadata = objects.InstanceDeviceMetadata(devices=[
            nic, objects.DiskMetadata(serial='old', path='/volumes/x')])
        instancedisks._device_metadata(
            inst, [('v1', '/volumes/data', 'data'),
                   ('v2', '/volumes/sdc', None)])
        devices = inst.device_metadata.devices
        self.assertIs(nic, devices[0])
        self.assertEqual([('v1', '/volumes/data', ['data']),
                          ('v2', '/volumes/sdc', [])],
                         [(d.serial, d.path, d.tags) for d in devices[1:]])
