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

"""A Glance v2 API over real HTTP, for the driver's real download path.

:class:`FakeGlanceAPI` answers image show, image data and the image schema
the way Glance does, so nova's ``glance.API`` and glanceclient run
unchanged against it (``[glance] api_servers = <url>``). Image data is
held in memory or read from a file and sent with ``sendfile``, so serving
a large image costs the test's process little CPU. It records each
request's path and auth token.

Used by the integration tests and by ``benchmarks/bench_image_load.py``
(through ``tests.image_load_child --glance-url``).
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
SCHEMA = {'name': 'image', 'additionalProperties': {'type': 'string'},
          'properties': {k: {'type': v} for k, v in _BASE.items()}}


def digests(data=None, path=None):
    """Glance's checksum fields (md5 and sha512) of bytes or a file."""
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    if path is None:
        md5.update(data)
        sha512.update(data)
    else:
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b''):
                md5.update(chunk)
                sha512.update(chunk)
    return {'checksum': md5.hexdigest(), 'os_hash_algo': 'sha512',
            'os_hash_value': sha512.hexdigest()}


class FakeGlanceAPI(http.server.ThreadingHTTPServer):
    """Glance v2's image show, image data and image schema."""

    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.images = {}      # id: (metadata, bytes, path or None)
        self.gone = set()     # ids whose data went away after the show
        self.requests = []    # (path, X-Auth-Token)
        self._thread = None

    def add(self, data=None, path=None, image_id=None, **meta):
        """An active public docker image of ``data`` (bytes) or of the
        file at ``path``; ``meta`` overrides Glance's fields (checksums
        included). ``data=None`` without a path: an image without data.
        """
        image_id = image_id or str(uuid.uuid4())
        size = os.path.getsize(path) if path else len(data or b'')
        fields = {'id': image_id, 'name': 'http-image', 'status': 'active',
                  'visibility': 'public', 'container_format': 'docker',
                  'disk_format': 'raw', 'size': size}
        if data is not None or path is not None:
            fields.update(digests(data, path))
        fields.update(meta)
        self.images[image_id] = (fields, data, path)
        return image_id

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

    def do_GET(self):
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
