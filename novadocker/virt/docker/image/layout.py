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

"""What an image tarball holds: docker-archive and OCI layouts.

Pure functions over what :mod:`filter` saw while the tarball streamed
by: every member's header, the bytes of the small JSON members, and which
members passed as layer tarballs. The result is a :class:`Plan`: the
digest of the image's config, and the ``manifest.json`` and ``index.json``
to hand to ``docker load`` in place of the tarball's own. Both name the
image by the one reference the caller gives (``nova-image:<glance id>``)
and nothing else, so that loading never moves a tag of the operator's
images, whichever of the two files the engine reads:

- Docker 20.10 and the graph-driver store of later engines read
  ``manifest.json`` (for an OCI layout, ``index.json`` without
  ``manifest.json``, the plan builds one from the index, its manifest and
  config blobs);
- the containerd image store reads ``index.json`` when the tarball has
  one (``docker save`` of Docker 25 and later writes both) and names the
  image after its annotations; the plan's index holds exactly the image
  manifest chosen for this host, named by the caller's reference. A
  tarball whose ``index.json`` and ``manifest.json`` describe different
  images is refused: two engines would boot two different images from it.
"""

import hashlib
import json
import platform
import posixpath
import re
import tarfile

DOCKER_MANIFEST = 'manifest.json'
OCI_INDEX = 'index.json'
# Legacy tag file of docker save; ignored when manifest.json exists, and
# dropped so that it can tag nothing.
LEGACY_REPOSITORIES = 'repositories'

_INDEX_TYPES = ('application/vnd.oci.image.index.v1+json',
                'application/vnd.docker.distribution.manifest.list.v2+json')
_MANIFEST_TYPES = ('application/vnd.oci.image.manifest.v1+json',
                   'application/vnd.docker.distribution.manifest.v2+json')
_DIGEST = re.compile(r'^(sha256|sha512):([a-f0-9]+)$')
_ARCH = {'x86_64': 'amd64', 'aarch64': 'arm64', 'armv7l': 'arm',
         'ppc64le': 'ppc64le', 's390x': 's390x'}
_MAX_DEPTH = 4


class LayoutError(ValueError):
    """The tarball is not a single loadable Docker image."""


# The annotations that name an image in an OCI index: the full reference
# (containerd) and the tag (the OCI image layout specification).
ANNOTATION_NAME = 'io.containerd.image.name'
ANNOTATION_REF = 'org.opencontainers.image.ref.name'
_INDEX_TYPE = _INDEX_TYPES[0]


class Plan(object):
    def __init__(self, image_id, manifest, layout, index=None):
        self.image_id = image_id      # 'sha256:<hex>' of the config
        self.manifest = manifest      # bytes of manifest.json to load
        self.layout = layout          # 'docker-archive' or 'oci'
        self.index = index            # bytes of index.json to load, or None


def _json(captured, name, what):
    if name not in captured:
        raise LayoutError('%s %s is missing or too large' % (what, name))
    try:
        return json.loads(captured[name])
    except ValueError as e:
        raise LayoutError('%s %s is not valid JSON: %s' % (what, name, e))


def resolve(members, name):
    """The regular member that ``name`` is or links to."""
    name = posixpath.normpath(name) if name else name
    for _ in range(8):
        if not name or name.startswith(('/', '../')) or name == '..':
            raise LayoutError('reference %r points outside the archive'
                              % name)
        member = members.get(name)
        if member is None:
            raise LayoutError('%s is referenced but not in the archive'
                              % name)
        if member.type == tarfile.SYMTYPE:
            name = posixpath.normpath(posixpath.join(
                posixpath.dirname(name), member.linkname))
        elif member.type == tarfile.LNKTYPE:
            name = posixpath.normpath(member.linkname)
        elif member.isreg():
            return name
        else:
            raise LayoutError('%s is not a file' % name)
    raise LayoutError('too many links from %s' % name)


def _check_config(captured, members, config, layers):
    name = resolve(members, config)
    data = captured.get(name)
    doc = _json(captured, name, 'image config')
    diff_ids = (doc.get('rootfs') or {}).get('diff_ids') if isinstance(
        doc, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layers):
        raise LayoutError('image config %s lists %s layers, the manifest %d'
                          % (name, len(diff_ids or ()), len(layers)))
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def _check_layers(members, scanned, layers):
    for layer in layers:
        name = resolve(members, layer)
        if name not in scanned:
            raise LayoutError('layer %s is not a tar or gzip tarball' % name)
        if scanned[name]:
            raise LayoutError('layer %s: %s' % (name, scanned[name]))


def _strings(value, what):
    if not isinstance(value, list) or not all(
            isinstance(v, str) for v in value):
        raise LayoutError('%s is not a list of paths' % what)
    return value


def _repo_tags(reference):
    return [reference] if reference else []


def full_name(reference):
    """``nova-image:x`` as containerd names it:
    ``docker.io/library/nova-image:x``.
    """
    first = reference.split('/', 1)[0]
    if '/' not in reference:
        return 'docker.io/library/' + reference
    if '.' in first or ':' in first or first == 'localhost':
        return reference
    return 'docker.io/' + reference


def _index(descriptor, reference):
    """The index.json to load: one image manifest, named ``reference``."""
    entry = {k: descriptor[k] for k in ('mediaType', 'digest', 'size')
             if k in descriptor}
    if reference:
        entry['annotations'] = {
            ANNOTATION_NAME: full_name(reference),
            ANNOTATION_REF: reference.rsplit(':', 1)[-1]}
    return json.dumps({'schemaVersion': 2, 'mediaType': _INDEX_TYPE,
                       'manifests': [entry]}).encode()


def docker_archive(members, captured, scanned, reference=None):
    doc = _json(captured, DOCKER_MANIFEST, 'manifest')
    if not isinstance(doc, list) or len(doc) != 1 or not isinstance(
            doc[0], dict):
        raise LayoutError('manifest.json must describe exactly one image, '
                          'not %s' % (len(doc) if isinstance(doc, list)
                                      else 'a %s' % type(doc).__name__))
    entry = dict(doc[0])
    config = entry.get('Config')
    if not isinstance(config, str):
        raise LayoutError('manifest.json has no Config')
    layers = _strings(entry.get('Layers'), 'manifest.json Layers')
    image_id = _check_config(captured, members, config, layers)
    _check_layers(members, scanned, layers)
    entry['RepoTags'] = _repo_tags(reference)
    index = None
    if OCI_INDEX in members:
        index = _same_image_index(members, captured, config, layers,
                                  reference)
    return Plan(image_id, json.dumps([entry]).encode(), 'docker-archive',
                index)


def _same_image_index(members, captured, config, layers, reference):
    """The index to load next to manifest.json, which must describe the
    same config and layers.
    """
    descriptor, _manifest, oci_config, oci_layers = _oci_image(members,
                                                               captured)
    same = (resolve(members, oci_config) == resolve(members, config) and
            [resolve(members, n) for n in oci_layers] ==
            [resolve(members, n) for n in layers])
    if not same:
        raise LayoutError('index.json and manifest.json describe different '
                          'images')
    return _index(descriptor, reference)


def _blob_path(descriptor):
    digest = descriptor.get('digest') if isinstance(descriptor,
                                                    dict) else None
    match = _DIGEST.match(digest or '')
    if not match:
        raise LayoutError('bad digest %r' % (digest,))
    return 'blobs/%s/%s' % match.groups(), match.group(1), match.group(2)


def _blob(members, captured, descriptor, what):
    path, algo, hexdigest = _blob_path(descriptor)
    name = resolve(members, path)
    data = captured.get(name)
    doc = _json(captured, name, what)
    if hashlib.new(algo, data).hexdigest() != hexdigest:
        raise LayoutError('%s %s does not match its digest' % (what, path))
    return doc


def _descriptor(members, captured, descriptor, kind):
    """A complete descriptor of a manifest blob (nested indexes may leave
    out the media type and size).
    """
    name = resolve(members, _blob_path(descriptor)[0])
    return {'mediaType': kind or _MANIFEST_TYPES[0],
            'digest': descriptor['digest'],
            'size': len(captured[name])}


def _host_platform(descriptor):
    plat = descriptor.get('platform')
    annotations = descriptor.get('annotations') or {}
    if annotations.get('vnd.docker.reference.type') == (
            'attestation-manifest'):
        return False
    if not plat:
        return True
    arch = _ARCH.get(platform.machine(), platform.machine())
    return plat.get('os') == 'linux' and plat.get('architecture') == arch


def _image_manifest(members, captured, index, depth=0):
    """``(descriptor, manifest)`` of the one image for this host."""
    if depth > _MAX_DEPTH:
        raise LayoutError('index nesting is too deep')
    manifests = index.get('manifests') if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise LayoutError('index has no manifests')
    found = []
    for descriptor in filter(_host_platform, manifests):
        doc = _blob(members, captured, descriptor, 'manifest')
        kind = descriptor.get('mediaType') or doc.get('mediaType')
        if kind in _INDEX_TYPES or (kind is None and 'manifests' in doc):
            found.append(_image_manifest(members, captured, doc, depth + 1))
        elif kind in _MANIFEST_TYPES or (kind is None and 'config' in doc):
            found.append((_descriptor(members, captured, descriptor, kind),
                          doc))
        else:
            raise LayoutError('unsupported manifest type %s' % kind)
    if len(found) != 1:
        raise LayoutError('index.json must describe exactly one image for '
                          'this host, not %d' % len(found))
    return found[0]


def _oci_image(members, captured):
    """``(descriptor, manifest, config path, layer paths)`` of the image
    that index.json holds for this host.
    """
    index = _json(captured, OCI_INDEX, 'index')
    descriptor, manifest = _image_manifest(members, captured, index)
    config = _blob_path(manifest.get('config'))[0]
    descriptors = manifest.get('layers')
    if not isinstance(descriptors, list):
        raise LayoutError('the image manifest has no layers list')
    layers = [_blob_path(d)[0] for d in descriptors]
    _blob(members, captured, manifest['config'], 'config')
    return descriptor, manifest, config, layers


def oci_layout(members, captured, scanned, reference=None):
    descriptor, _manifest, config, layers = _oci_image(members, captured)
    image_id = _check_config(captured, members, config, layers)
    _check_layers(members, scanned, layers)
    entry = {'Config': config, 'RepoTags': _repo_tags(reference),
             'Layers': layers}
    return Plan(image_id, json.dumps([entry]).encode(), 'oci',
                _index(descriptor, reference))


def plan(members, captured, scanned, reference=None):
    """The :class:`Plan` for a tarball, or LayoutError.

    ``members`` maps normalised names to headers, ``captured`` names to
    the bytes of small JSON members, ``scanned`` layer candidates to None
    (a good tarball) or the problem found in them; ``reference`` is the
    one name the loaded image gets (None: no name).
    """
    if not members:
        raise LayoutError('the archive is empty')
    if DOCKER_MANIFEST in members:
        return docker_archive(members, captured, scanned, reference)
    if OCI_INDEX in members:
        return oci_layout(members, captured, scanned, reference)
    raise LayoutError('neither manifest.json nor index.json: not a '
                      'docker save tarball')
