# SPDX-License-Identifier: MIT — crmpubsub
"""Where the package finds libcrmpubsub.so.1: $CRMPUBSUB_LIBRARY, then the
source tree's client/, then the LIBDIR make install recorded, then the
system loader; and the error that lists what was tried. Each case imports
the package in a fresh interpreter with a controlled environment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crmtest import library_file

PACKAGE = Path(__file__).resolve().parents[1] / "crmpubsub"
PROBE = ("import crmpubsub, sys\n"
         "print(crmpubsub.library_path())\n"
         "maps = open('/proc/self/maps').read().split()\n"
         "print(sorted({p for p in maps if 'libcrmpubsub' in p}))\n")


def system_has_library() -> bool:
    """Whether the system loader alone finds a libcrmpubsub.so.1."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                         text=True).stdout
    return "libcrmpubsub.so.1 " in out


def probe(pythonpath, cwd, **env):
    """Imports crmpubsub from pythonpath in a clean environment plus env:
    (exit status, stdout + stderr)."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("CRMPUBSUB_LIBRARY", "LD_LIBRARY_PATH",
                            "PYTHONPATH")}
    environ.update(env, PYTHONPATH=str(pythonpath))
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=environ,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def copy_package(dest: Path) -> Path:
    """A copy of the package at dest/crmpubsub; dest."""
    shutil.copytree(PACKAGE, dest / "crmpubsub",
                    ignore=shutil.ignore_patterns("__pycache__", "_install.py"))
    return dest


def fake_tree(root: Path) -> Path:
    """root/client/{libcrmpubsub.so.1, crmpubsub.h, python/crmpubsub}:
    what a checkout looks like; the python directory."""
    (root / "client").mkdir(parents=True)
    shutil.copy(library_file(), root / "client/libcrmpubsub.so.1")
    (root / "client/crmpubsub.h").write_text("/* marker */\n")
    return copy_package(root / "client/python")


@pytest.fixture
def lib_copy(tmp_path):
    """A directory holding a copy of the library."""
    d = tmp_path / "libs"
    d.mkdir()
    shutil.copy(library_file(), d / "libcrmpubsub.so.1")
    return d


def test_environment_variable_first(tmp_path, lib_copy):
    py = fake_tree(tmp_path / "tree")
    rc, out = probe(py, tmp_path,
                    CRMPUBSUB_LIBRARY=str(lib_copy / "libcrmpubsub.so.1"))
    assert rc == 0, out
    assert out.splitlines()[0] == str(lib_copy / "libcrmpubsub.so.1")
    assert str(lib_copy) in out.splitlines()[1]


def test_environment_variable_is_the_only_candidate_when_set(tmp_path):
    py = fake_tree(tmp_path / "tree")
    rc, out = probe(py, tmp_path, CRMPUBSUB_LIBRARY="/nonexistent/lib.so")
    assert rc != 0
    assert "ImportError: crmpubsub: cannot load libcrmpubsub.so.1" in out
    assert "/nonexistent/lib.so ($CRMPUBSUB_LIBRARY): " in out
    assert "source tree" not in out


def test_the_trees_own_library_next(tmp_path, lib_copy):
    py = fake_tree(tmp_path / "tree")
    rc, out = probe(py, tmp_path, LD_LIBRARY_PATH=str(lib_copy))
    assert rc == 0, out
    want = str(tmp_path / "tree/client/libcrmpubsub.so.1")
    assert out.splitlines()[0] == want
    assert out.splitlines()[1] == str([want])


def test_the_system_loader_outside_a_tree(tmp_path, lib_copy):
    py = copy_package(tmp_path / "site")
    rc, out = probe(py, tmp_path, LD_LIBRARY_PATH=str(lib_copy))
    assert rc == 0, out
    assert out.splitlines()[0] == "libcrmpubsub.so.1"
    assert out.splitlines()[1] == str([str(lib_copy / "libcrmpubsub.so.1")])


def test_nothing_found_lists_what_was_tried(tmp_path):
    py = copy_package(tmp_path / "site")
    rc, out = probe(py, tmp_path)
    if system_has_library():
        # An installed library is the last candidate: it is used.
        assert rc == 0 and out.splitlines()[0].startswith("libcrmpubsub"), out
        return
    assert rc != 0
    tried = out[out.index("crmpubsub: cannot load"):]
    assert "$CRMPUBSUB_LIBRARY: not set" in tried
    assert f"{tmp_path}/libcrmpubsub.so.1 (the source tree's client/): " \
           f"not a crmpubsub source tree" in tried
    assert "libcrmpubsub.so.1 (the system loader): " \
           "libcrmpubsub.so.1: cannot open shared object file" in tried
    assert "set $CRMPUBSUB_LIBRARY to its path" in tried


def test_a_library_that_is_not_libcrmpubsub(tmp_path):
    py = copy_package(tmp_path / "site")
    rc, out = probe(py, tmp_path, CRMPUBSUB_LIBRARY="libc.so.6")
    assert rc != 0
    assert "libc.so.6 lacks crmpubsub_new" in out
