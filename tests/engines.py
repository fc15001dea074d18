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

"""Private Docker engines for tests that need a second host.

``NOVADOCKER_ENGINE`` (set by tools/dev.sh) says which engine serves
``$DOCKER_HOST``: ``system`` (Debian 12's Docker 20.10) or ``docker26``
(Debian 13's Docker 26.1, from tools/engine.sh). :class:`PrivateEngine`
starts another one, of either kind, in a directory of its own, and stops
it and removes its directory at cleanup.
"""

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

import docker
import fixtures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_DOCKERD = '/usr/sbin/dockerd'
CONTAINERD_STORE = os.path.join(ROOT, 'tools', 'containerd-store.json')
WAIT = 60


def current():
    """The kind of engine at ``$DOCKER_HOST``."""
    return os.environ.get('NOVADOCKER_ENGINE') or 'system'


def docker26_root():
    """Where tools/engine.sh unpacked Docker 26.1 (fetching it once)."""
    out = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'engine.sh'),
                          'docker26'], check=True, capture_output=True,
                         text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


class PrivateEngine(fixtures.Fixture):
    """A dockerd of kind ``engine`` on a unix socket of its own; with
    ``containerd_store`` (docker26 only) it keeps images in containerd's
    image store. ``url`` and ``api`` are set once it answers.
    """

    def __init__(self, engine, containerd_store=False):
        super().__init__()
        self.engine = engine
        self.containerd_store = containerd_store

    def _command(self, base):
        env = dict(os.environ)
        if self.engine == 'docker26':
            root = docker26_root()
            env['PATH'] = '%s/usr/sbin:%s/usr/bin:%s' % (root, root,
                                                         env['PATH'])
            dockerd = os.path.join(root, 'usr', 'sbin', 'dockerd')
        elif self.engine == 'system':
            dockerd = SYSTEM_DOCKERD
        else:
            raise ValueError('unknown engine %r' % self.engine)
        args = [dockerd, '--data-root', os.path.join(base, 'data'),
                '--exec-root', os.path.join(base, 'exec'),
                '--pidfile', os.path.join(base, 'pid'),
                '-H', self.url, '--bridge=none', '--iptables=false',
                '--ip-masq=false']
        if self.containerd_store:
            args += ['--config-file', CONTAINERD_STORE]
        return args, env

    def _setUp(self):
        # Short: containerd's socket lives under the exec root.
        base = tempfile.mkdtemp(prefix='ndeng', dir='/tmp')
        self.addCleanup(_remove, base)
        self.url = 'unix://%s/docker.sock' % base
        args, env = self._command(base)
        log = open(os.path.join(base, 'dockerd.log'), 'w')
        self.addCleanup(log.close)
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                env=env)
        self.addCleanup(_stop, proc)
        self.api = _wait(self.url, proc, os.path.join(base, 'dockerd.log'))
        self.addCleanup(self.api.close)


def _wait(url, proc, log):
    deadline = time.monotonic() + WAIT
    while True:
        try:
            api = docker.APIClient(base_url=url, version='auto')
            api.ping()
            return api
        except docker.errors.DockerException:
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(log) as f:
                    tail = f.read()[-3000:]
                raise RuntimeError('dockerd at %s did not start:\n%s'
                                   % (url, tail))
            time.sleep(0.5)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _remove(base):
    # A stopped dockerd leaves no mounts; unmount whatever a killed one
    # left behind before removing its directory.
    with open('/proc/self/mounts') as f:
        mounts = [line.split()[1] for line in f]
    for mount in sorted((m for m in mounts if m.startswith(base + '/')),
                        reverse=True):
        subprocess.run(['umount', '-l', mount], check=False)
    shutil.rmtree(base, ignore_errors=True)


class RestartableEngine(object):
    """A dockerd of its own (the one on ``PATH``, which tools/dev.sh chooses)
    that a test can stop and start again (a host that fails and comes
    back), with Docker's ``live-restore`` on or off; ``start()``,
    ``stop()`` (SIGTERM), ``kill()`` (SIGKILL: the engine dies),
    ``remove()``.
    """

    def __init__(self, name, live_restore=False):
        # Short: containerd's socket lives under the exec root.
        self.base = tempfile.mkdtemp(prefix='nd%s' % name, dir='/tmp')
        self.url = 'unix://%s/docker.sock' % self.base
        self.live_restore = live_restore
        self._proc = None
        self._log = None

    def start(self):
        self._log = open(os.path.join(self.base, 'dockerd.log'), 'a')
        extra = shlex.split(os.environ.get('NOVADOCKER_DOCKERD_ARGS', ''))
        self._proc = subprocess.Popen(
            ['dockerd', '--data-root', os.path.join(self.base, 'data'),
             '--exec-root', os.path.join(self.base, 'exec'),
             '--pidfile', os.path.join(self.base, 'pid'),
             '--bridge=none', '--iptables=false', '--ip-masq=false',
             '-H', self.url] +
            (['--live-restore'] if self.live_restore else []) + extra,
            stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                api = docker.APIClient(base_url=self.url, version='auto')
                api.ping()
                api.close()
                return
            except docker.errors.DockerException:
                if self._proc.poll() is not None or \
                        time.monotonic() > deadline:
                    raise RuntimeError(
                        'private dockerd did not start; see %s/dockerd.log'
                        % self.base)
                time.sleep(0.5)

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def stop(self):
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None
        self._log.close()

    def kill(self):
        """SIGKILL dockerd, as the kernel's OOM killer or a crash would;
        returns once it is dead. Its containerd lives on, and the next
        ``start()`` takes it over again.
        """
        if self._proc is None:
            return
        pidfile = os.path.join(self.base, 'exec', 'containerd',
                               'containerd.pid')
        containerd = _read_pid(pidfile)
        self._proc.kill()
        self._proc.wait(timeout=30)
        self._proc = None
        self._log.close()
        # dockerd's own containerd dies with it (parent-death signal); the
        # next dockerd would take a containerd that is still exiting (or
        # a zombie not reaped yet) for a live one and wait for it in vain.
        _wait_gone(containerd)
        if containerd is not None:
            os.unlink(pidfile)

    def remove(self):
        self.stop()
        # Container shims of a killed engine that never came back.
        for pid in _processes_naming(self.base):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with open('/proc/self/mounts') as f:
            mounts = [line.split()[1] for line in f]
        for mount in sorted((m for m in mounts
                             if m.startswith(self.base + '/')),
                            reverse=True):
            subprocess.run(['umount', '-l', mount], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _wait_gone(pid):
    deadline = time.monotonic() + WAIT
    while pid is not None and _alive(pid):
        if time.monotonic() > deadline:
            raise RuntimeError('process %d outlived its dockerd' % pid)
        time.sleep(0.1)


def _processes_naming(text):
    """Processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmdline = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        if text in cmdline and int(entry) != os.getpid():
            found.append(int(entry))
    return found
