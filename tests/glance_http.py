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

"""A Glance v2 API over real HTTP, for the driver's real image paths.

:class:`FakeGlanceAPI` answers image show, image data, the image schema,
image update (JSON patch) and image data upload the way Glance does, so
nova's ``glance.API`` and glanceclient run unchanged against it
(``[glance] api_servers = <url>``). Image data is held in memory or read
from a file and sent with ``sendfile``, so serving a large image costs the
test's process little CPU. An upload (glanceclient sends it chunked) is
read into one reused buffer: kept in memory as the image's data when
``keep_uploads``, else only counted, so that receiving a large snapshot
costs the benchmark's process little memory and CPU. It records each
request's method, path and auth token.

Used by the integration tests, ``benchmarks/bench_image_load.py`` (through
``tests.image_load_child --glance-url``) and ``benchmarks/bench_snapshot.py``.
"""

import hashlib
import http.server
import json
import os
import threading
import uuid

# Glance's own image schema lists these as base properties, so nova's
# image show returns them at the top level (the rest go to "properties").
_BASE = {'id': 'string', 'name': 'string', 'status': 'string',
         'visibility': 'string', 'protected': 'boolean', 'os_hidden':
         'boolean', 'checksum': 'string', 'os_hash_algo': 'string',
         'os_hash_value': 'string', 'owner': 'string', 'size': 'integer',
         'virtual_size': 'integer', 'container_format': 'string',
         'disk_format': 'string', 'created_at': 'string', 'updated_at':
         'string', 'tags': 'array', 'direct_url': 'string', 'min_ram':
         'integer', 'min_disk': 'integer', 'self': 'string', 'file':
         'string', 'schema': 'string', 'locations': 'array'}
# Glance lets these be null (a queued image has no data yet).
_NULLABLE = ('name', 'checksum', 'os_hash_algo', 'os_hash_value', 'size',
             'virtual_size', 'container_format', 'disk_format')
SCHEMA = {'name': 'image', 'additionalProperties': {'type': 'string'},
          'properties': {k: {'type': ['null', v] if k in _NULLABLE else v}
                         for k, v in _BASE.items()}}


UPLOAD_BUFFER = 1024 * 1024


def digests(data=None, path=None, algo='sha512'):
    """Glance's checksum fields (md5 and the ``algo`` multihash, as
    Glance's ``hashing_algorithm`` chooses it) of bytes or a file.
    """
    # hashlib's named constructors, not hashlib.new: the tests count what
    # hashlib.new hashes, to see what the driver's path hashes.
    md5, multihash = hashlib.md5(), getattr(hashlib, algo)()
    if path is None:
        md5.update(data)
        multihash.update(data)
    else:
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b''):
                md5.update(chunk)
                multihash.update(chunk)
    return {'checksum': md5.hexdigest(), 'os_hash_algo': algo,
            'os_hash_value': multihash.hexdigest()}


class FakeGlanceAPI(http.server.ThreadingHTTPServer):
    """Glance v2's image show, image data and image schema."""

    daemon_threads = True

    def __init__(self, keep_uploads=True):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.images = {}      # id: (metadata, bytes, path or None)
        self.gone = set()     # ids whose data went away after the show
        self.requests = []    # (path, X-Auth-Token), GETs only
        self.calls = []       # (method, path)
        self.keep_uploads = keep_uploads
        self._thread = None

    def add(self, data=None, path=None, image_id=None, algo='sha512',
            **meta):
        """An active public docker image of ``data`` (bytes) or of the
        file at ``path``, with Glance's checksums (``os_hash_algo``
        ``algo``); ``meta`` overrides Glance's fields (checksums
        included). ``data=None`` without a path: an image without data.
        """
        image_id = image_id or str(uuid.uuid4())
        size = os.path.getsize(path) if path else len(data or b'')
        fields = {'id': image_id, 'name': 'http-image', 'status': 'active',
                  'visibility': 'public', 'container_format': 'docker',
                  'disk_format': 'raw', 'size': size}
        if data is not None or path is not None:
            fields.update(digests(data, path, algo))
        fields.update(meta)
        self.images[image_id] = (fields, data, path)
        return image_id

    def upload(self, image_id, size, data):
        """An upload of ``size`` bytes (``data`` when kept, else None)
        ended: the image becomes active, as Glance makes it.
        """
        meta, _data, path = self.images[image_id]
        meta = dict(meta, status='active', size=size)
        if data is not None:
            meta.update(digests(data))
        self.images[image_id] = (meta, data, path)

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever,
                                        daemon=True, name='fake-glance')
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _image_id(self, suffix=None):
        """The image id of a ``/v2/images/<id>[/<suffix>]`` path when the
        image exists, else None.
        """
        parts = self.path.strip('/').split('/')
        wanted = 4 if suffix else 3
        if (len(parts) == wanted and parts[:2] == ['v2', 'images'] and
                parts[3:] == ([suffix] if suffix else []) and
                parts[2] in self.server.images):
            return parts[2]
        return None

    def do_PATCH(self):
        self.server.calls.append(('PATCH', self.path))
        image_id = self._image_id()
        length = int(self.headers.get('Content-Length') or 0)
        ops = json.loads(self.rfile.read(length) or b'[]')
        if image_id is None:
            return self._answer(404, b'')
        meta, data, path = self.server.images[image_id]
        meta = dict(meta)
        for op in ops:
            key = op['path'].lstrip('/')
            if op['op'] == 'remove':
                meta.pop(key, None)
            else:
                meta[key] = op['value']
        self.server.images[image_id] = (meta, data, path)
        self._json(meta)

    def do_PUT(self):
        self.server.calls.append(('PUT', self.path))
        image_id = self._image_id('file')
        if image_id is None:
            self.close_connection = True
            return self._answer(404, b'')
        kept = [] if self.server.keep_uploads else None
        size = self._receive(kept)
        self.server.upload(image_id, size,
                           None if kept is None else b''.join(kept))
        self._answer(204, b'')

    def _receive(self, kept):
        """Read the request's body (chunked, as glanceclient sends an
        upload, or with a Content-Length); returns its size.
        """
        view = memoryview(bytearray(UPLOAD_BUFFER))
        if self.headers.get('Transfer-Encoding', '').lower() != 'chunked':
            return self._copy(int(self.headers.get('Content-Length') or 0),
                              view, kept)
        size = 0
        while True:
            length = int(self.rfile.readline(1024).split(b';')[0], 16)
            if not length:
                while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass      # trailers
                return size
            size += self._copy(length, view, kept)
            self.rfile.readline(1024)

    def _copy(self, length, view, kept):
        left = length
        while left:
            got = self.rfile.readinto(view[:min(left, len(view))])
            if not got:
                raise ConnectionError('upload cut short')
            if kept is not None:
                kept.append(bytes(view[:got]))
            left -= got
        return length

    def do_GET(self):
        self.server.calls.append(('GET', self.path))
        self.server.requests.append((self.path,
                                     self.headers.get('X-Auth-Token')))
        parts = self.path.strip('/').split('/')
        if parts == ['v2', 'schemas', 'image']:
            return self._json(SCHEMA)
        image = None
        if parts[:2] == ['v2', 'images'] and len(parts) in (3, 4):
            image = self.server.images.get(parts[2])
        if image is None or (len(parts) == 4 and parts[3] != 'file'):
            return self._answer(404, b'')
        meta, data, path = image
        if len(parts) == 3:
            return self._json(meta)
        if parts[2] in self.server.gone:
            return self._answer(404, b'')
        if path is not None:
            return self._send_file(path)
        if data is None:
            return self._answer(204, b'')    # an image without data
        self._answer(200, data, 'application/octet-stream')

    def _send_file(self, path):
        with open(path, 'rb') as f:
            self._headers(200, os.fstat(f.fileno()).st_size,
                          'application/octet-stream')
            self.connection.sendfile(f)

    def _json(self, body):
        self._answer(200, json.dumps(body).encode(), 'application/json')

    def _headers(self, status, length, content_type):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(length))
        self.end_headers()

    def _answer(self, status, body, content_type='text/plain'):
        self._headers(status, len(body), content_type)
        self.wfile.write(body)
