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

"""The one place that talks to Docker.

Every Docker API call of the driver goes through :class:`DockerClient`, and
every Docker or transport error comes out of it as one of the exceptions in
``exception.py``, chosen by the error's type (never by its text).
"""

import contextlib
import itertools
import os
import socket
import ssl
import threading
import time

import docker
from docker import errors as docker_errors
from docker.utils import socket as docker_socket
from oslo_log import log as logging
import requests
import urllib3

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels

LOG = logging.getLogger(__name__)

STREAM_CHUNK = 1024 * 1024
# The oldest Docker Engine API the driver supports: Docker 20.10's, the
# oldest engine it is tested with. The driver speaks the engine's own
# (newest) API version, so engines that refuse old clients (Docker 29 and
# later accept API 1.44 and up only) are served as well.
MIN_API_VERSION = '1.41'


def api_version(text):
    """``'1.41'`` as ``(1, 41)``, for comparing Engine API versions."""
    try:
        return tuple(int(part) for part in str(text).split('.'))
    except ValueError:
        raise docker_errors.DockerException(
            'the engine named an invalid API version %r' % (text,)) from None


def _translate(url, what, error):
    """Return our exception for a Docker SDK or transport error."""
    reason = str(error)
    if isinstance(error, docker_errors.APIError) and error.explanation:
        # The engine's own words, without the URL of the request.
        reason = str(error.explanation)
    if isinstance(error, docker_errors.NotFound):
        return exception.DockerNotFound(what=what, reason=reason)
    if isinstance(error, docker_errors.APIError):
        status = error.status_code or 0
        if status == 409:
            return exception.DockerConflict(what=what, reason=reason)
        if status >= 500:
            return exception.DockerServerError(what=what, reason=reason)
        return exception.DockerDriverException(reason='%s: %s' % (what,
                                                                  reason))
    if isinstance(error, (requests.exceptions.Timeout,
                          urllib3.exceptions.TimeoutError)):
        return exception.DockerTimeout(url=url, reason=reason)
    if isinstance(error, (requests.exceptions.ConnectionError,
                          requests.exceptions.ChunkedEncodingError,
                          urllib3.exceptions.ProtocolError,
                          ConnectionError)):
        # Also a connection that broke in the middle of a stream.
        return exception.DockerUnreachable(url=url, reason=reason)
    if (isinstance(error, docker_errors.DockerException) and
            error.__cause__ is not None):
        # The SDK wraps failures of its version negotiation.
        return _translate(url, what, error.__cause__)
    return exception.DockerDriverException(reason='%s: %s' % (what, reason))


_TRANSLATED = (docker_errors.DockerException,
               requests.exceptions.RequestException,
               urllib3.exceptions.HTTPError,
               ConnectionError)


class DockerClient(object):
    """A thin facade over the Docker SDK's low-level ``APIClient``."""

    def __init__(self, url, tls=None, timeout=120):
        self.url = url
        self._tls = tls
        self._timeout = timeout
        self._api_client = None
        self._lock = threading.Lock()

    @classmethod
    def from_conf(cls, conf):
        """Build a client from nova.conf's ``[docker]`` section."""
        opts = conf.docker
        tls = None
        # TCP is always TLS, verified unless api_insecure; plain HTTP only
        # when the URL says http:// explicitly.
        if opts.host_url.startswith(('tcp://', 'https://')):
            client_cert = None
            if opts.cert_file:
                client_cert = (opts.cert_file, opts.key_file)
            verify = False if opts.api_insecure else (opts.ca_file or True)
            try:
                tls = docker.tls.TLSConfig(client_cert=client_cert,
                                           verify=verify)
            except docker_errors.TLSParameterError as e:
                raise exception.DockerDriverException(
                    reason='[docker] TLS settings: %s' % e) from e
        return cls(opts.host_url, tls=tls, timeout=opts.api_timeout)

    @contextlib.contextmanager
    def _translated(self, what):
        try:
            yield
        except _TRANSLATED as e:
            raise _translate(self.url, what, e) from e

    def _iter_translated(self, what, iterable):
        with self._translated(what):
            yield from iterable

    @property
    def _api(self):
        with self._lock:
            if self._api_client is None:
                with self._translated('API version negotiation'):
                    self._api_client = self._negotiated_api()
            return self._api_client

    def _new_api(self, version):
        api = docker.APIClient(base_url=self.url, version=version,
                               timeout=self._timeout, tls=self._tls or False)
        # Only nova.conf decides how the engine is reached: trusting the
        # environment, requests would verify the engine's certificate
        # against REQUESTS_CA_BUNDLE instead of [docker]ca_file, and send
        # its API through HTTP(S)_PROXY.
        api.trust_env = False
        return api

    def _negotiated_api(self):
        """A client that speaks the engine's own API version."""
        probe = self._new_api(docker.constants.MINIMUM_DOCKER_API_VERSION)
        try:
            version = probe.version(api_version=False).get('ApiVersion')
        finally:
            probe.close()
        if not version:
            raise docker_errors.DockerException(
                'the engine did not name its API version')
        if api_version(version) < api_version(MIN_API_VERSION):
            raise exception.DockerEngineTooOld(url=self.url, version=version,
                                               minimum=MIN_API_VERSION)
        return self._new_api(version)

    def _call(self, what, method, *args, **kwargs):
        with self._translated(what):
            return getattr(self._api, method)(*args, **kwargs)

    # Engine

    def version(self):
        return self._call('version', 'version')

    def info(self):
        return self._call('info', 'info')

    def answers_within(self, timeout, interval=0.5):
        """Whether the engine answers a ping within ``timeout`` seconds
        (an engine that died and is being restarted).
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call('ping', 'ping')
                return True
            except exception.DockerUnreachable:
                if time.monotonic() >= deadline:
                    return False
            time.sleep(interval)

    # Containers

    def containers(self, wanted, **filters):
        """All containers, running or not, that carry every label given
        and match Docker's list ``filters`` (e.g. ``status=['exited']``).
        """
        filters['label'] = labels.label_filter(wanted)
        return self._call('container list', 'containers', all=True,
                          filters=filters)

    def inspect_container(self, ref):
        return self._call('container %s' % ref, 'inspect_container', ref)

    def create_container(self, image, name, host_config, **config):
        what = 'container create %s' % name
        with self._translated(what):
            host = self._api.create_host_config(**host_config)
            return self._api.create_container(image, name=name,
                                              host_config=host, **config)

    def start(self, ref):
        self._call('container start %s' % ref, 'start', ref)

    def stop(self, ref, timeout):
        self._call('container stop %s' % ref, 'stop', ref, timeout=timeout)

    def kill(self, ref, signal=None):
        self._call('container kill %s' % ref, 'kill', ref, signal=signal)

    def pause(self, ref):
        self._call('container pause %s' % ref, 'pause', ref)

    def unpause(self, ref):
        self._call('container unpause %s' % ref, 'unpause', ref)

    def remove_container(self, ref):
        self._call('container remove %s' % ref, 'remove_container', ref,
                   v=True, force=True)

    def wait(self, ref, timeout):
        return self._call('container wait %s' % ref, 'wait', ref,
                          timeout=timeout)

    def logs(self, ref, tail, max_bytes):
        """The newest output of ``ref``: at most ``tail`` lines and
        ``max_bytes`` bytes, read as a stream so memory stays bounded.
        """
        what = 'container logs %s' % ref
        kept = bytearray()
        with self._translated(what):
            for chunk in self._api.logs(ref, stdout=True, stderr=True,
                                        stream=True, follow=False,
                                        tail=tail):
                kept += chunk
                del kept[:-max_bytes]
        return bytes(kept)

    def attach_socket(self, ref):
        """A socket on the container's attach stream (stdin, stdout and
        stderr, from now on), blocking, owned by the caller.
        """
        what = 'container attach %s' % ref
        params = {'stdin': 1, 'stdout': 1, 'stderr': 1, 'stream': 1}
        with self._translated(what):
            raw = self._api.attach_socket(ref, params=params)
        # TLS gives the SSL socket itself; a unix or plain TCP connection
        # comes wrapped as an IO object, and we take a socket of our own on
        # the same connection.
        sock = self._own_socket(raw)
        sock.settimeout(None)
        return sock

    def stats(self, ref):
        """One sample of the container's resource use: a single answer,
        no stream (and no second sample where the engine can skip it).
        """
        kwargs = {}
        if docker.utils.version_gte(self._api.api_version, '1.41'):
            kwargs['one_shot'] = True
        return self._call('container stats %s' % ref, 'stats', ref,
                          stream=False, **kwargs)

    def exec_with_input(self, ref, command, data, timeout):
        """Run ``command`` (a list, no shell) in the running container as
        root with ``data`` on its stdin; returns ``(exit code, output)``.

        Waits at most ``timeout`` seconds for the command to finish; a
        command still running then is reported with exit code None.
        """
        what = 'container exec %s' % ref
        with self._translated(what):
            exec_id = self._api.exec_create(ref, command, stdin=True,
                                            user='root')['Id']
            raw = self._api.exec_start(exec_id, socket=True)
        sock = self._own_socket(raw)
        output = b''
        try:
            sock.settimeout(timeout)
            sock.sendall(data)
            # EOF on the command's stdin; the output stays readable on a
            # plain socket (TLS cannot half-close, so it is not read there).
            sock.shutdown(socket.SHUT_WR)
            if not isinstance(sock, ssl.SSLSocket):
                output = b''.join(
                    chunk for _stream, chunk in
                    docker_socket.frames_iter(sock, tty=False))
        except OSError as e:
            raise _translate(self.url, what, e) from e
        finally:
            sock.close()
        deadline = time.monotonic() + timeout
        while True:
            state = self._call(what, 'exec_inspect', exec_id)
            if not state.get('Running'):
                return state.get('ExitCode'), output
            if time.monotonic() >= deadline:
                return None, output
            time.sleep(0.1)

    @staticmethod
    def _own_socket(raw):
        if isinstance(raw, socket.socket):
            return raw
        sock = socket.socket(fileno=os.dup(raw.fileno()))
        raw.close()
        return sock

    def commit(self, ref, repository, tag, changes=None):
        return self._call('container commit %s' % ref, 'commit', ref,
                          repository=repository, tag=tag, changes=changes)

    def update_resources(self, ref, resources):
        """``docker update`` with Engine API field names (``Memory``,
        ``NanoCpus``, ``PidsLimit``...): the SDK's update_container cannot
        send NanoCpus or PidsLimit.
        """
        what = 'container update %s' % ref
        with self._translated(what):
            api = self._api
            url = '%s/v%s/containers/%s/update' % (api.base_url,
                                                   api.api_version, ref)
            response = api.post(url, json=resources, timeout=self._timeout)
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as e:
                # The SDK's NotFound or APIError, by status, as its own
                # calls raise them (the helper raises it already; the
                # raise here says so).
                raise docker_errors.create_api_error_from_http_exception(
                    e) from e
            return response.json()

    # Images

    def inspect_image(self, ref):
        return self._call('image %s' % ref, 'inspect_image', ref)

    def images(self, name=None):
        return self._call('image list', 'images', name=name)

    def tag(self, image, repository, tag):
        self._call('image tag %s' % image, 'tag', image, repository,
                   tag=tag, force=True)

    def remove_image(self, ref):
        self._call('image remove %s' % ref, 'remove_image', ref)

    def import_image_from_data(self, data, repository, tag, changes):
        """``docker import`` a rootfs tarball (bytes) as repository:tag."""
        self._call('image import %s:%s' % (repository, tag),
                   'import_image_from_data', data, repository=repository,
                   tag=tag, changes=changes)

    def load_image(self, data):
        """Stream a ``docker save`` tarball (an iterable of bytes) in.

        Loads quietly (no per-layer progress bars; the caller logs its own
        progress) and returns the engine's messages once it has finished.
        An error that the engine reports in the stream (``error``) or as the
        whole answer (``message``) is raised as DockerServerError.
        """
        what = 'image load'
        with self._translated(what):
            messages = list(self._api.load_image(data, quiet=True))
        for message in messages:
            reason = message.get('error') or message.get('message')
            if reason:
                raise exception.DockerServerError(what=what, reason=reason)
        return messages

    def pull(self, repository, version, auth_config=None):
        """Pull ``repository`` at ``version`` (a tag or a digest) with
        ``auth_config`` (``username``/``password``...) or anonymously; an
        error the engine reports in the stream is DockerServerError.
        """
        what = 'image pull %s' % repository
        with self._translated(what):
            messages = list(self._api.pull(repository, tag=version,
                                           stream=True, decode=True,
                                           auth_config=auth_config))
        for message in messages:
            if message.get('error'):
                raise exception.DockerServerError(what=what,
                                                  reason=message['error'])
        return messages

    def get_image(self, ref, chunk_size=STREAM_CHUNK):
        """Stream a ``docker save`` tarball of ``ref`` out, chunk by chunk."""
        what = 'image save %s' % ref
        with self._translated(what):
            stream = self._api.get_image(ref, chunk_size=chunk_size)
            # The SDK checks the answer on the first read: let a missing
            # image fail here rather than in the middle of an upload.
            first = next(stream, b'')
        return self._iter_translated(
            what, itertools.chain([first] if first else [], stream))

    # Events

    def events(self, filters, since=None):
        """Follow Docker events matching ``filters``.

        Returns ``(events, close)``: an iterator of decoded events, and a
        function that ends the stream from another thread.
        """
        with self._translated('events'):
            stream = self._api.events(filters=filters, since=since,
                                      decode=True)
        return self._iter_translated('events', stream), stream.close
