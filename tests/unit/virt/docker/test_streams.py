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


class RechunkTestCase(test.NoDBTestCase):
    def test_exact_pieces_across_chunks(self):
        pieces = list(streams.rechunk([b'abc', b'', b'defgh', b'ij'], 4))
        self.assertEqual([b'abcd', b'efgh', b'ij'], pieces)
        self.assertTrue(all(type(p) is bytes for p in pieces))

    def test_whole_chunks_pass_without_a_copy(self):
        chunk = b'x' * 8
        pieces = list(streams.rechunk([chunk, b'y' * 8], 8))
        self.assertIs(chunk, pieces[0])
        self.assertEqual([b'x' * 8, b'y' * 8], pieces)

    def test_one_chunk_of_many_pieces(self):
        self.assertEqual([b'ab', b'cd', b'e'],
                         list(streams.rechunk([b'abcde'], 2)))

    def test_nothing(self):
        self.assertEqual([], list(streams.rechunk([b''], 4)))


class IterReaderCloseTestCase(test.NoDBTestCase):
    def test_read_of_a_whole_chunk_is_that_chunk(self):
        chunk = b'z' * 16
        reader = streams.IterReader([chunk])
        self.assertIs(chunk, reader.read(16))

    def test_close_closes_the_source(self):
        closed = []

        def chunks():
            try:
                yield b'abc'
                yield b'def'
            finally:
                closed.append(True)

        reader = streams.IterReader(chunks())
        self.assertEqual(b'ab', reader.read(2))
        reader.close()
        self.assertEqual([True], closed)
        self.assertEqual(b'', reader.read(2))
