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

"""Images pulled from a private registry, pinned by digest.

A Glance image without data whose property ``docker_image_ref`` names a
registry reference (``registry.example:5000/team/app@sha256:<digest>``)
boots by pulling that reference through the engine. The reference must
name its registry and, unless ``[docker] registry_allow_tags``, a digest,
so that what an instance boots cannot change behind the Glance image.
Credentials come from ``[docker] registry_auth_file`` (the Docker
client's ``config.json``), never from the image.

The pulled image is tagged ``nova-image:<glance id>`` like a loaded one
(the image cache then prunes it) and the pulled name is removed again.
Every refusal and failure is ImageUnacceptable with the reason, and leaves
nothing in the engine.
"""

import base64
import binascii
import collections
import json
import re

from nova import exception as nova_exception
from nova.i18n import _
from oslo_log import log as logging

from novadocker.virt.docker import exception

LOG = logging.getLogger(__name__)

PROPERTY = 'docker_image_ref'

_COMPONENT = r'[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
_REFERENCE = re.compile(
    r'^(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?)'
    r'/(?P<path>%s(?:/%s)*)'
    r'(?::(?P<tag>[\w][\w.-]{0,127}))?'
    r'(?:@(?P<digest>sha256:[0-9a-f]{64}))?$' % (_COMPONENT, _COMPONENT))


def _is_registry(name):
    """Docker's rule: the first component names a registry when it has a
    dot or a port, or is localhost.
    """
    return '.' in name or ':' in name or name == 'localhost'


class Reference(collections.namedtuple(
        'Reference', 'registry repository tag digest')):
    """A parsed ``docker_image_ref``."""

    @property
    def pinned(self):
        """What the engine pulls: by digest when there is one."""
        if self.digest:
            return '%s@%s' % (self.repository, self.digest)
        return '%s:%s' % (self.repository, self.tag or 'latest')

    @property
    def version(self):
        """The digest or tag, as the engine's pull API takes it."""
        return self.digest or self.tag or 'latest'


def parse(image_id, value, allow_tags):
    """The Reference in ``value``; ImageUnacceptable when it does not name
    a registry, or names no digest (and tags are not allowed).
    """
    match = _REFERENCE.match(value or '')
    if not match or not _is_registry(match.group('registry')):
        raise nova_exception.ImageUnacceptable(
            image_id=image_id,
            reason=_('%(prop)s %(value)r is not a registry reference '
                     '(registry.example:5000/team/app@sha256:<digest>)')
            % {'prop': PROPERTY, 'value': value})
    ref = Reference(match.group('registry'),
                    '%s/%s' % (match.group('registry'), match.group('path')),
                    match.group('tag'), match.group('digest'))
    if not ref.digest and not allow_tags:
        raise nova_exception.ImageUnacceptable(
            image_id=image_id,
            reason=_('%(prop)s %(value)s names no digest; pin it with '
                     '@sha256:<digest> (tags are not allowed here)')
            % {'prop': PROPERTY, 'value': value})
    return ref


def reference_of(meta):
    """The image's ``docker_image_ref``, or None (a Glance image)."""
    return (meta.get('properties') or {}).get(PROPERTY) or None


def credentials(auth_file, registry):
    """The engine's ``auth_config`` for ``registry`` from a Docker client
    ``config.json``; None without a file or an entry (anonymous).
    """
    if not auth_file:
        return None
    try:
        with open(auth_file) as f:
            auths = json.load(f).get('auths') or {}
    except (OSError, ValueError, AttributeError) as e:
        raise exception.DockerDriverException(
            reason=_('[docker] registry_auth_file %(file)s cannot be '
                     'read: %(error)s') % {'file': auth_file,
                                           'error': e}) from e
    entry = None
    for key in (registry, 'https://' + registry, 'http://' + registry):
        if isinstance(auths.get(key), dict):
            entry = auths[key]
            break
    if entry is None:
        return None
    config = {'serveraddress': registry}
    if entry.get('auth'):
        try:
            user, sep, password = base64.b64decode(
                entry['auth']).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError) as e:
            raise exception.DockerDriverException(
                reason=_('[docker] registry_auth_file: the auth of %s is '
                         'not base64 of user:password') % registry) from e
        config.update(username=user, password=password)
    elif entry.get('identitytoken'):
        config['identitytoken'] = entry['identitytoken']
    else:
        config.update(username=entry.get('username'),
                      password=entry.get('password'))
    return config


class Registry(object):
    """Pulls registry references. ``opts`` is nova.conf's ``[docker]``
    group: ``registry_auth_file`` and ``registry_allow_tags`` are read at
    each pull (none: anonymous pulls, digests only).
    """

    def __init__(self, client, opts=None):
        self._client = client
        self._opts = opts

    def pull(self, image_id, meta, local_ref, instance=None):
        """Pull the image's reference and name it ``local_ref``."""
        auth_file = self._opts.registry_auth_file if self._opts else None
        allow_tags = self._opts.registry_allow_tags if self._opts else False
        if meta.get('size'):
            raise nova_exception.ImageUnacceptable(
                image_id=image_id,
                reason=_('the image has data and %s: it must be one or the '
                         'other') % PROPERTY)
        ref = parse(image_id, reference_of(meta), allow_tags)
        auth = credentials(auth_file, ref.registry)
        LOG.info('Pulling image %s from %s (%s)', image_id, ref.pinned,
                 'with credentials' if auth else 'anonymously',
                 instance=instance)
        try:
            self._client.pull(ref.repository, ref.version, auth)
        except exception.DockerDriverException as e:
            LOG.warning('Pulling %s failed: %s', ref.pinned, e,
                        instance=instance)
            self._forget(ref.pinned)
            # Nova keeps 255 characters of a fault: the engine's reason
            # first (the reference is in the image's properties).
            raise nova_exception.ImageUnacceptable(
                image_id=image_id,
                reason=_('cannot pull it: %s') % e.kwargs.get(
                    'reason', e)) from e
        try:
            self._check_and_tag(image_id, ref, local_ref)
        finally:
            self._forget(ref.pinned)
        LOG.info('Image %s pulled from %s', image_id, ref.pinned,
                 instance=instance)
        return local_ref

    def _check_and_tag(self, image_id, ref, local_ref):
        info = self._client.inspect_image(ref.pinned)
        if ref.digest and ref.pinned not in (info.get('RepoDigests') or ()):
            raise nova_exception.ImageUnacceptable(
                image_id=image_id,
                reason=_('the engine pulled %(ref)s but holds it under '
                         '%(digests)s') % {
                    'ref': ref.pinned,
                    'digests': ', '.join(info.get('RepoDigests') or ())})
        repository, tag = local_ref.rsplit(':', 1)
        self._client.tag(info['Id'], repository, tag)

    def _forget(self, pinned):
        """Remove the pulled name; our tag, if any, keeps the image."""
        try:
            self._client.remove_image(pinned)
        except exception.DockerNotFound:
            pass
        except exception.DockerDriverException as e:
            LOG.warning('Could not remove %s: %s', pinned, e)
