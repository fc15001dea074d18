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

"""novadocker.conf: the [docker] options and the sample file in etc/."""

import os
import subprocess
import sys

from oslo_config import cfg
from oslo_config import generator
import pytest

from novadocker import conf as docker_conf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GENERATOR_CONF = os.path.join(ROOT, 'etc', 'novadocker',
                              'novadocker-config-generator.conf')
SAMPLE = os.path.join(ROOT, 'etc', 'novadocker', 'novadocker.conf.sample')


@pytest.fixture
def conf():
    c = cfg.ConfigOpts()
    docker_conf.register_opts(c)
    c([], default_config_files=[])
    return c


def test_required_options_and_secure_defaults(conf):
    assert conf.docker.host_url == 'unix:///var/run/docker.sock'
    assert conf.docker.ca_file is None
    assert conf.docker.cert_file is None
    assert conf.docker.key_file is None
    assert conf.docker.api_insecure is False
    assert conf.docker.privileged is False
    assert conf.docker.api_timeout > 0


def test_every_option_explains_itself():
    for group, opts in docker_conf.list_opts():
        assert group.name == 'docker'
        for opt in opts:
            assert len(opt.help.split()) >= 5, opt.name


def test_list_opts_is_the_entry_point():
    # What oslo-config-generator --namespace novadocker loads.
    loaders = generator._get_raw_opts_loaders(['novadocker'])
    assert len(loaders) == 1
    (group, opts), = loaders[0][1]()
    assert group.name == 'docker'
    assert {o.name for o in opts} >= {
        'host_url', 'ca_file', 'cert_file', 'key_file', 'api_insecure',
        'api_timeout', 'privileged'}


def test_register_twice_is_harmless(conf):
    docker_conf.register_opts(conf)
    assert conf.docker.privileged is False


def test_sample_config_is_current(tmp_path):
    """etc/novadocker/novadocker.conf.sample is what the generator writes.

    Regenerate it with ``tox -e genconfig`` after changing an option.
    """
    out = tmp_path / 'novadocker.conf.sample'
    generator_cmd = os.path.join(os.path.dirname(sys.executable),
                                 'oslo-config-generator')
    subprocess.run([generator_cmd, '--config-file', GENERATOR_CONF,
                    '--output-file', str(out)],
                   cwd=ROOT, check=True, timeout=60)
    with open(SAMPLE) as f:
        kept = f.read()
    assert out.read_text() == kept, (
        'etc/novadocker/novadocker.conf.sample is stale: run tox -e '
        'genconfig')
    assert '[docker]' in kept
    assert '#host_url = unix:///var/run/docker.sock' in kept
