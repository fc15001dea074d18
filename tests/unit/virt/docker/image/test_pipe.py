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

"""image.pipe: nova's verifying download, streamed through a thread."""

import threading

from cryptography import exceptions as crypto_exceptions
from nova import exception
from oslo_config import fixture as cfg_fixture
import pytest

from novadocker.virt.docker.image import pipe


class VerifyingGlance(object):
    """``download(data=...)`` as nova's does with a verifier: writes every
    chunk, then raises if the signature is bad.
    """

    def __init__(self, chunks, signature_ok=True):
        self.chunks = chunks
        self.signature_ok = signature_ok
        self.written = 0
        self.finished = threading.Event()
        self.calls = []

    def download(self, context, image_id, data=None, trusted_certs=None):
        self.calls.append((image_id, trusted_certs))
        try:
            for chunk in self.chunks:
                data.write(chunk)
                self.written += 1
            if not self.signature_ok:
                raise crypto_exceptions.InvalidSignature()
        finally:
            self.finished.set()


def test_chunks_stream_through():
    chunks = [b'%d' % i * 100 for i in range(50)]
    glance = VerifyingGlance(chunks)
    got = list(pipe.verified_chunks(glance, None, 'img', 'certs'))
    assert got == chunks
    assert glance.calls == [('img', 'certs')]


def test_bad_signature_raises_before_the_end():
    glance = VerifyingGlance([b'a', b'b'], signature_ok=False)
    got = []
    with pytest.raises(exception.ImageUnacceptable, match='signature'):
        for chunk in pipe.verified_chunks(glance, None, 'img'):
            got.append(chunk)
    assert got == [b'a', b'b']


def test_other_errors_pass_unchanged():
    class Broken(VerifyingGlance):
        def download(self, *args, **kwargs):
            raise exception.ImageNotFound(image_id='img')
    with pytest.raises(exception.ImageNotFound):
        list(pipe.verified_chunks(Broken([]), None, 'img'))


def test_closing_early_stops_the_download():
    glance = VerifyingGlance(iter([b'x'] * 10000))
    stream = pipe.verified_chunks(glance, None, 'img')
    assert next(stream) == b'x'
    stream.close()
    assert glance.finished.wait(10)
    assert glance.written < 10000


@pytest.fixture
def conf():
    fixture = cfg_fixture.Config(pipe.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def test_when_nova_verifies(conf):
    assert not pipe.needs_data_argument(None)
    assert pipe.needs_data_argument(['cert'])
    conf.config(verify_glance_signatures=True, group='glance')
    assert pipe.needs_data_argument(None)
