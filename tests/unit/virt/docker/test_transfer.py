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

"""The one-shot TLS stream, over real sockets on the loopback."""

import hashlib
import socket
import threading

from nova import test

from novadocker.virt.docker import transfer


def _data(n):
    return [bytes([i % 251]) * 300000 for i in range(n)]


class EndpointTestCase(test.NoDBTestCase):

    def _endpoint(self, chunks, timeout=30):
        self.done = []
        finished = threading.Event()

        def done(ok):
            self.done.append(ok)
            finished.set()

        endpoint = transfer.Endpoint(lambda: iter(chunks), done,
                                     '127.0.0.1', timeout)
        self.addCleanup(endpoint.close)
        self.finished = finished
        return endpoint

    def test_streams_everything_once_in_big_chunks(self):
        chunks = _data(10)
        endpoint = self._endpoint(chunks)
        got = list(transfer.receive(endpoint.address))
        self.assertEqual(b''.join(chunks), b''.join(got))
        self.assertTrue(all(len(c) == transfer.CHUNK for c in got[:-1]))
        self.assertTrue(self.finished.wait(10))
        self.assertEqual([True], self.done)
        # One shot: nobody listens any more.
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(endpoint.address, 2))

    def test_wrong_token_is_refused_and_the_right_one_still_served(self):
        chunks = _data(2)
        endpoint = self._endpoint(chunks)
        wrong = dict(endpoint.address, token='0' * 64)
        # Cut without TLS's close: never mistaken for an empty stream.
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(wrong))
        self.assertEqual([], self.done)
        got = b''.join(transfer.receive(endpoint.address))
        self.assertEqual(b''.join(chunks), got)

    def test_other_certificate_is_refused_before_the_token_is_sent(self):
        endpoint = self._endpoint(_data(1))
        other = dict(endpoint.address,
                     fingerprint=hashlib.sha256(b'x').hexdigest())
        e = self.assertRaises(transfer.TransferError, list,
                              transfer.receive(other))
        self.assertIn('not the migration endpoint', str(e))
        self.assertEqual([], self.done)

    def test_a_source_that_breaks_cuts_the_stream(self):
        def chunks():
            yield b'x' * 100000
            raise OSError('engine went away')

        self.done = []
        endpoint = transfer.Endpoint(chunks, self.done.append, '127.0.0.1',
                                     30)
        self.addCleanup(endpoint.close)
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(endpoint.address))
        endpoint.wait(10)
        self.assertEqual([False], self.done)

    def test_receiver_that_leaves_early_is_a_failure(self):
        endpoint = self._endpoint(_data(200))
        stream = transfer.receive(endpoint.address)
        next(stream)
        stream.close()
        self.assertTrue(self.finished.wait(30))
        self.assertEqual([False], self.done)

    def test_nobody_comes(self):
        endpoint = self._endpoint(_data(1), timeout=0.3)
        self.assertTrue(self.finished.wait(10))
        self.assertEqual([False], self.done)
        with socket.socket() as s:
            self.assertNotEqual(0, s.connect_ex(
                ('127.0.0.1', endpoint.address['port'])))

    def test_close_stops_waiting(self):
        endpoint = self._endpoint(_data(1))
        endpoint.close()
        self.assertTrue(endpoint.wait(10))
        self.assertEqual([False], self.done)
