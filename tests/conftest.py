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

"""Shared test setup: concurrency mode, a real Docker engine, test images.

Integration and functional tests need a Docker engine at ``$DOCKER_HOST``
(``.ci/run`` starts a private one).  When it cannot be reached those tests
fail; they are never skipped.
"""

import os

# nova-compute's default is native threads; eventlet mode is selected by
# setting OS_NOVA_DISABLE_EVENTLET_PATCHING=0 before running the tests.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import docker  # noqa: E402
import nova.conf  # noqa: E402
from nova import test as nova_test  # noqa: E402
import pytest  # noqa: E402

from novadocker import conf as docker_conf  # noqa: E402
from tests import images as test_images  # noqa: E402

# The driver registers [docker] when nova loads it; tests set its options
# before that, whichever test file runs alone.
docker_conf.register_opts(nova.conf.CONF)


_nova_clear_attrs = nova_test.TestCase._clear_attrs


def _clear_attrs_keeping_test_method(self):
    # pytest runs a unittest test by setting the test method as an instance
    # attribute and deleting it afterwards; nova's cleanup deletes every
    # public attribute first, which makes that delattr fail.
    method = self.__dict__.pop(self._testMethodName, None)
    _nova_clear_attrs(self)
    if method is not None:
        self.__dict__[self._testMethodName] = method


nova_test.TestCase._clear_attrs = _clear_attrs_keeping_test_method


@pytest.fixture(scope='session')
def docker_url():
    url = os.environ.get('DOCKER_HOST')
    if not url:
        pytest.fail('DOCKER_HOST is not set: these tests need a real Docker '
                    'engine (.ci/run starts one)', pytrace=False)
    return url


@pytest.fixture(scope='session')
def docker_api(docker_url):
    """The raw Docker SDK client, for checking what the driver did."""
    api = docker.APIClient(base_url=docker_url, version='auto')
    try:
        api.ping()
    except Exception as e:   # whatever the cause, the tests cannot run
        pytest.fail('Docker engine at %s cannot be reached: %s'
                    % (docker_url, e), pytrace=False)
    return api


@pytest.fixture(scope='session')
def busybox_image(docker_api):
    """A local busybox image, built from the host's busybox-static."""
    return test_images.ensure_busybox(docker_api)
