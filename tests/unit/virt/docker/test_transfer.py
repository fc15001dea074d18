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

"""The migration stream, over real sockets on the loopback."""

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

        endpoint = transfer.Endpoint(lambda: iter(chunks or ()), done,
                                     '127.0.0.1', timeout)
        self.addCleanup(endpoint.close)
        self.finished = finished
        return endpoint

    def test_streams_until_the_destination_has_built(self):
        chunks = _data(10)
        endpoint = self._endpoint(chunks)
        got = list(transfer.receive(endpoint.address))
        self.assertEqual(b''.join(chunks), b''.join(got))
        self.assertTrue(all(len(c) == transfer.CHUNK for c in got[:-1]))
        # Served again (a destination that retries), until its word.
        self.assertEqual(b''.join(chunks),
                         b''.join(transfer.receive(endpoint.address)))
        self.assertEqual([], self.done)
        transfer.notify(endpoint.address, transfer.BUILT)
        self.assertTrue(self.finished.wait(10))
        self.assertEqual([transfer.BUILT], self.done)
        # Nobody listens any more.
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(endpoint.address, 2))

    def test_release(self):
        endpoint = self._endpoint(_data(1))
        transfer.notify(endpoint.address, transfer.RELEASE)
        self.assertTrue(self.finished.wait(10))
        self.assertEqual([transfer.RELEASE], self.done)

    def test_wrong_token_is_refused_and_the_right_one_still_served(self):
        chunks = _data(2)
        endpoint = self._endpoint(chunks)
        wrong = dict(endpoint.address, token='0' * 64)
        # Cut without TLS's close: never mistaken for an empty stream.
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(wrong))
        self.assertRaises(transfer.TransferError, transfer.notify, wrong,
                          transfer.RELEASE)
        self.assertEqual([], self.done)
        got = b''.join(transfer.receive(endpoint.address))
        self.assertEqual(b''.join(chunks), got)

    def test_unknown_request_is_refused(self):
        endpoint = self._endpoint(_data(1))
        self.assertRaises(transfer.TransferError, transfer.notify,
                          endpoint.address, 'DELETE')
        self.assertEqual([], self.done)

    def test_other_certificate_is_refused_before_the_token_is_sent(self):
        endpoint = self._endpoint(_data(1))
        other = dict(endpoint.address,
                     fingerprint=hashlib.sha256(b'x').hexdigest())
        e = self.assertRaises(transfer.TransferError, list,
                              transfer.receive(other))
        self.assertIn('not the migration endpoint', str(e))
        self.assertEqual([], self.done)

    def test_a_source_that_breaks_cuts_the_stream_and_stays(self):
        calls = []

        def chunks():
            calls.append(1)
            yield b'x' * 100000
            if len(calls) == 1:
                raise OSError('engine went away')

        endpoint = self._endpoint(None)
        endpoint._chunks = chunks
        self.assertRaises(transfer.TransferError, list,
                          transfer.receive(endpoint.address))
        self.assertEqual(b'x' * 100000,
                         b''.join(transfer.receive(endpoint.address)))
        self.assertEqual([], self.done)

    def test_receiver_that_leaves_early_can_come_back(self):
        chunks = _data(200)
        endpoint = self._endpoint(chunks)
        stream = transfer.receive(endpoint.address)
        next(stream)
        stream.close()
        self.assertEqual(b''.join(chunks),
                         b''.join(transfer.receive(endpoint.address)))
        self.assertEqual([], self.done)

    def test_nobody_comes(self):
        endpoint = self._endpoint(_data(1), timeout=0.3)
        self.assertTrue(self.finished.wait(10))
        self.assertEqual([None], self.done)
        with socket.socket() as s:
            self.assertNotEqual(0, s.connect_ex(
                ('127.0.0.1', endpoint.address['port'])))

    def test_once_fetched_the_timeout_is_over(self):
        endpoint = self._endpoint(_data(1), timeout=0.5)
        list(transfer.receive(endpoint.address))
        self.assertFalse(self.finished.wait(1.5))
        list(transfer.receive(endpoint.address))

    def test_close_stops_waiting(self):
        endpoint = self._endpoint(_data(1))
        endpoint.close()
        self.assertTrue(endpoint.wait(10))
        self.assertEqual([None], self.done)
