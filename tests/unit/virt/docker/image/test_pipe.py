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

"""image.pipe: a download that writes, read as an iterator on a thread."""

import threading

import pytest

from novadocker.virt.docker.image import pipe


class Download(object):
    """Writes ``chunks`` to the file object it is given, then raises
    ``error`` if set.
    """

    def __init__(self, chunks, error=None):
        self.chunks = chunks
        self.error = error
        self.written = 0
        self.finished = threading.Event()
        self.thread = None

    def __call__(self, data):
        self.thread = threading.current_thread().name
        try:
            for chunk in self.chunks:
                data.write(chunk)
                self.written += 1
            if self.error is not None:
                raise self.error
        finally:
            self.finished.set()


def test_chunks_stream_through_on_a_thread_of_their_own():
    chunks = [b'%d' % i * 100 for i in range(50)]
    download = Download(chunks)
    assert list(pipe.chunks(download, 'image-download-x')) == chunks
    assert download.thread == 'image-download-x'


def test_big_chunks_are_handed_over_in_batches(monkeypatch):
    monkeypatch.setattr(pipe, 'BATCH', 10)
    got = list(pipe.chunks(Download([b'a' * 4] * 7 + [b'']), 'x'))
    assert got == [b'a' * 4] * 7


def test_the_error_replaces_the_end():
    download = Download([b'a', b'b'], error=ValueError('bad'))
    with pytest.raises(ValueError, match='bad'):
        list(pipe.chunks(download, 'x'))


def test_closing_early_stops_the_download(monkeypatch):
    monkeypatch.setattr(pipe, 'BATCH', 1)
    download = Download(iter([b'x'] * 10000))
    stream = pipe.chunks(download, 'x')
    assert next(stream) == b'x'
    stream.close()
    assert download.finished.wait(10)
    assert download.written < 10000
