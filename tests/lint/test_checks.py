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

"""novadocker's local flake8 checks (tests/lint/checks.py)."""

import ast
import textwrap

import pytest

from tests.lint import checks


def _nd201_lines(source):
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    found = checks.BroadExcept(tree, source.splitlines(True)).run()
    return [line for line, _col, text, _type in found
            if text.startswith('ND201')]


@pytest.mark.parametrize('handler', [
    'except Exception:\n    pass\n',
    'except BaseException:\n    log()\n',
    'except (ValueError, Exception) as e:\n    log(e)\n',
    # A raise inside a nested function does not re-raise this exception.
    'except Exception:\n    def later():\n        raise\n',
])
def test_broad_except_without_a_reason_is_reported(handler):
    assert _nd201_lines('try:\n    go()\n' + handler) == [3]


@pytest.mark.parametrize('handler', [
    'except Exception:\n    log()\n    raise\n',
    'except Exception as e:\n    raise Other() from e\n',
    'except Exception:\n'
    '    with excutils.save_and_reraise_exception():\n'
    '        undo()\n',
    'except Exception:  # best effort\n    pass\n',
    'except Exception:\n    # The watcher must live on.\n    log()\n',
    'except ValueError:\n    pass\n',
    'except:\n    pass\n',     # hacking's H201
])
def test_reraise_reason_or_narrow_except_passes(handler):
    assert _nd201_lines('try:\n    go()\n' + handler) == []


def test_a_comment_further_down_the_body_is_no_reason():
    source = '''
        try:
            go()
        except Exception:
            log()
            # not a reason for the except above
            more()
    '''
    assert _nd201_lines(source) == [4]
