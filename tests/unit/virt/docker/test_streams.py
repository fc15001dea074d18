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

from nova import test

from novadocker.virt.docker import streams


class IterReaderTestCase(test.NoDBTestCase):
    def test_read_sizes_cross_chunks(self):
        reader = streams.IterReader([b'abc', b'', b'defgh', b'i'])
        self.assertEqual(b'ab', reader.read(2))
        self.assertEqual(b'cdef', reader.read(4))
        self.assertEqual(b'ghi', reader.read())
        self.assertEqual(b'', reader.read(3))
        self.assertEqual(9, reader.bytes_read)

    def test_read_zero(self):
        reader = streams.IterReader([b'abc'])
        self.assertEqual(b'', reader.read(0))
        self.assertEqual(b'abc', reader.read(10))

    def test_consumes_lazily(self):
        consumed = []

        def chunks():
            for c in (b'1' * 4, b'2' * 4):
                consumed.append(c)
                yield c

        reader = streams.IterReader(chunks())
        reader.read(3)
        self.assertEqual(1, len(consumed))
