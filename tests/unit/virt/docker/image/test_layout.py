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

"""image.layout: links, nested OCI indexes, what the plan holds."""

import hashlib
import json
import tarfile

import pytest

from novadocker.virt.docker.image import layout
from novadocker.virt.docker.image import tar


def _m(name, type_=tarfile.REGTYPE, link=''):
    return tar.Member(name, type_, 10, link)


def test_resolve_follows_links_inside():
    members = {'a/layer.tar': _m('a/layer.tar', tarfile.SYMTYPE,
                                 '../b/layer.tar'),
               'b/layer.tar': _m('b/layer.tar'),
               'c': _m('c', tarfile.LNKTYPE, 'b/layer.tar')}
    assert layout.resolve(members, 'a/layer.tar') == 'b/layer.tar'
    assert layout.resolve(members, 'c') == 'b/layer.tar'


@pytest.mark.parametrize('members, name, reason', [
    ({}, '../x', 'outside'),
    ({}, '/etc/passwd', 'outside'),
    ({'l': _m('l', tarfile.SYMTYPE, '../../x')}, 'l', 'outside'),
    ({'l': _m('l', tarfile.SYMTYPE, 'l')}, 'l', 'too many links'),
    ({'d': _m('d', tarfile.DIRTYPE)}, 'd', 'not a file'),
    ({}, 'missing', 'not in the archive'),
])
def test_resolve_refuses(members, name, reason):
    with pytest.raises(layout.LayoutError, match=reason):
        layout.resolve(members, name)


def _blob(doc):
    data = json.dumps(doc).encode()
    return 'sha256:' + hashlib.sha256(data).hexdigest(), data


def test_nested_index_and_attestations():
    cfg_digest, cfg = _blob({'rootfs': {'diff_ids': ['sha256:aa']}})
    man_digest, man = _blob({
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'config': {'digest': cfg_digest},
        'layers': [{'digest': 'sha256:' + 'b' * 64}]})
    att_digest, att = _blob({'config': {'digest': cfg_digest}, 'layers': []})
    inner_digest, inner = _blob({'manifests': [
        {'digest': man_digest,
         'platform': {'os': 'linux', 'architecture': 'amd64'}},
        {'digest': att_digest,
         'annotations': {'vnd.docker.reference.type':
                         'attestation-manifest'}}]})
    index = json.dumps({'manifests': [{
        'mediaType': 'application/vnd.oci.image.index.v1+json',
        'digest': inner_digest}]}).encode()
    captured = {'index.json': index}
    members = {'index.json': _m('index.json')}
    for digest, data in ((cfg_digest, cfg), (man_digest, man),
                         (att_digest, att), (inner_digest, inner)):
        name = 'blobs/sha256/' + digest[7:]
        captured[name] = data
        members[name] = _m(name)
    layer = 'blobs/sha256/' + 'b' * 64
    members[layer] = _m(layer)
    plan = layout.plan(members, captured, {layer: None})
    assert plan.image_id == cfg_digest
    assert json.loads(plan.manifest) == [{
        'Config': 'blobs/sha256/' + cfg_digest[7:], 'RepoTags': [],
        'Layers': [layer]}]
    # A layer the scanner found bad is refused by name.
    with pytest.raises(layout.LayoutError, match='layer .*: bad'):
        layout.plan(members, captured, {layer: 'bad'})
