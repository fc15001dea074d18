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

"""What a Docker compute node's and a controller's files must contain.

Pure functions: current file text in, new file text out.
"""

import difflib
import re

from novadocker import conf
from novadocker.setup import ini

COMPUTE_DRIVER = 'novadocker.virt.docker.DockerDriver'
DOCKER_GROUP = 'docker'
DOCKER_FORMAT = 'docker'
FILTERS_NAME = 'docker.filters'
# Glance's own default for [image_format] container_formats (2026.2); it
# already lists docker, so a glance-api.conf that does not set the option
# needs no change.
GLANCE_DEFAULT_FORMATS = ('ami', 'ari', 'aki', 'bare', 'ovf', 'ova',
                          'docker', 'compressed')
_MOVED_NOTE = ('container_formats moved to [image_format] by '
               'novadocker-setup-node')


class SetupError(Exception):
    """A request the setup command cannot carry out."""


def docker_option_names():
    return sorted(opt.dest for opt in conf.ALL_OPTS)


def default_host_url():
    for opt in conf.ALL_OPTS:
        if opt.dest == 'host_url':
            return opt.default
    raise SetupError('novadocker.conf has no host_url option')


def parse_docker_option(spec):
    """``'key=value'`` -> ``(key, value)``, for a known ``[docker]`` key."""
    key, sep, value = spec.partition('=')
    key = key.strip()
    if not sep or not key:
        raise SetupError('--docker-option wants KEY=VALUE, got %r' % spec)
    if key not in docker_option_names():
        raise SetupError('[docker] has no option %r; known options: %s'
                         % (key, ', '.join(docker_option_names())))
    if '\n' in value:
        raise SetupError('--docker-option %s: a value must be one line' % key)
    return key, value.strip()


def nova_settings(docker_options):
    """The (section, key, value) lines a Docker compute node needs."""
    options = dict(docker_options)
    options.setdefault('host_url', default_host_url())
    settings = [('DEFAULT', 'compute_driver', COMPUTE_DRIVER)]
    settings.extend(('docker', key, options[key]) for key in sorted(options))
    return settings


def configure_nova(text, docker_options=()):
    return ini.apply(text, nova_settings(docker_options))


def _split(value):
    return [item.strip() for item in value.split(',') if item.strip()]


def container_formats(current):
    """``current`` (a list, or None when unset) with docker added."""
    formats = list(GLANCE_DEFAULT_FORMATS if current is None else current)
    if DOCKER_FORMAT not in formats:
        formats.append(DOCKER_FORMAT)
    return formats


def configure_glance(text):
    """glance-api.conf ``text`` that accepts ``container_format=docker``.

    A list that is already set keeps its formats and gains ``docker``; one
    set in the deprecated ``[DEFAULT]`` place moves to ``[image_format]``.
    An unset option is left alone: Glance's default already has docker.
    """
    current = ini.get(text, 'image_format', 'container_formats')
    legacy = ini.get(text, 'DEFAULT', 'container_formats')
    if current is None and legacy is None:
        return text
    source = current if current is not None else legacy
    formats = container_formats(_split(source))
    text = ini.set_value(text, 'image_format', 'container_formats',
                         ','.join(formats))
    if legacy is not None:
        text = ini.comment_out(text, 'DEFAULT', 'container_formats',
                               note=_MOVED_NOTE)
    return text


def host_matches(pattern, hostname):
    """Whether ``hostname`` is selected by ``pattern`` (None selects all).

    ``pattern`` is a regular expression searched anywhere in the name,
    case-insensitively, so ``docker`` selects every host with "docker" in
    its name, as the old deployment-tool plugin did.
    """
    if not pattern:
        return True
    try:
        return re.search(pattern, hostname, re.IGNORECASE) is not None
    except re.error as exc:
        raise SetupError('bad --only-hosts pattern %r: %s' % (pattern, exc))


def unified_diff(path, old, new):
    """A unified diff of ``path`` from ``old`` (None: missing) to ``new``.
    """
    before = '/dev/null' if old is None else path
    return ''.join(difflib.unified_diff(
        (old or '').splitlines(True), new.splitlines(True),
        fromfile=before, tofile=path))
