"""The code passes flake8 (settings in tox.ini)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_flake8_is_clean():
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', 'novadocker', 'tests', 'contrib',
         'benchmarks'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
