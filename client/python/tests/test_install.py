# SPDX-License-Identifier: MIT — crmpubsub
"""Installing the package: `make install-python` (a copy into PYTHONDIR,
with LIBDIR recorded) and `pip install` of client/python, offline."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import need
from crmtest import REPO, library_file

SRC = Path(__file__).resolve().parents[1]
PROBE = "import crmpubsub; print(crmpubsub.__file__); " \
        "print(crmpubsub.library_path()); print(crmpubsub.version())"


def run(cmd, **kw):
    """Runs cmd (bounded); its CompletedProcess, output as text."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          **kw)


def clean_env(**extra):
    """The environment minus what steers the library lookup."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CRMPUBSUB_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH",
                        "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env.update(extra)
    return env


def test_make_install_copies_the_package_and_records_libdir(tmp_path):
    libdir = Path(library_file()).parent
    stage = tmp_path / "stage"
    make = ["make", "-C", str(REPO), "--no-print-directory",
            f"DESTDIR={stage}", "PYTHONDIR=/py", f"LIBDIR={libdir}"]
    r = run(make + ["install-python"], env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    pkg = stage / "py/crmpubsub"
    shipped = sorted(p.name for p in (SRC / "crmpubsub").glob("*.py")
                     if p.name != "_install.py")
    assert sorted(p.name for p in pkg.iterdir()) == \
        sorted(shipped + ["_install.py"])
    assert f'LIBDIR = "{libdir}"' in (pkg / "_install.py").read_text()
    # Imported from there, outside any tree, it loads the library from the
    # recorded LIBDIR without help from the loader's path.
    r = run([sys.executable, "-c", PROBE], cwd=tmp_path,
            env=clean_env(PYTHONPATH=str(stage / "py"),
                          PYTHONDONTWRITEBYTECODE="1"))
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == str(pkg / "__init__.py")
    assert out[1] == str(libdir / "libcrmpubsub.so.1")
    r = run(make + ["uninstall-python"], env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert not pkg.exists()


def test_pip_installs_it_offline(tmp_path):
    r = run([sys.executable, "-c", "import importlib.util as u, sys; "
             "sys.exit(not all(u.find_spec(m) for m in "
             "('pip', 'setuptools', 'wheel')))"])
    need(r.returncode == 0,
         "pip, setuptools and wheel (python3-pip python3-setuptools "
         "python3-wheel)")
    src = tmp_path / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info", "_install.py"))
    target = tmp_path / "target"
    r = run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
             "--no-index", "--no-deps", "--no-cache-dir", "--target",
             str(target), str(src)], env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "crmpubsub/client.py").exists()
    assert not (target / "crmpubsub/_install.py").exists()
    assert list(target.glob("crmpubsub-1.0.0.dist-info"))
    r = run([sys.executable, "-c", PROBE], cwd=tmp_path,
            env=clean_env(PYTHONPATH=str(target),
                          CRMPUBSUB_LIBRARY=library_file()))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [library_file(), "1.0.0"]
