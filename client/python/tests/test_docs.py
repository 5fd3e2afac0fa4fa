# SPDX-License-Identifier: MIT — crmpubsub
"""The example of client/python/README.md and of docs/client.md's
"Python" section is the same, and runs verbatim against a daemon, printing
exactly what the text says it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

from crmtest import REPO

README = Path(__file__).resolve().parents[1] / "README.md"
CLIENT_MD = REPO / "docs/client.md"


def example(text: str):
    """The first ```python block and the plain ``` block after it."""
    m = re.search(r"```python\n(.*?)```\n.*?```\n(.*?)```\n", text, re.S)
    assert m, "no python example followed by its output"
    return m.group(1), m.group(2)


def python_section(text: str) -> str:
    """docs/client.md's "## Python" section."""
    m = re.search(r"^## Python\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, "docs/client.md has no '## Python' section"
    return m.group(1)


def test_both_documents_show_the_same_example():
    assert example(README.read_text()) == \
        example(python_section(CLIENT_MD.read_text()))


def test_the_example_runs_verbatim(daemon, tmp_path):
    code, output = example(README.read_text())
    assert len(code.splitlines()) <= 25
    script = tmp_path / "example.py"
    script.write_text(code)
    env = dict(os.environ, CRMPUBSUB_SOCKET=daemon.sock,
               PYTHONPATH=str(README.parent))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == output
    assert r.stderr == ""		# nothing went wrong enough to log
