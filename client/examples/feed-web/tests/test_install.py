# SPDX-License-Identifier: MIT — crmpubsub
"""make install-feed-web copies the application where it runs from, and
make uninstall-feed-web takes it away again."""

import os
import subprocess
import sys

from feedtest import APP_DIR, REPO


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          **kw)


def test_install_runs_from_there_and_uninstall_removes_it(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTHONPATH")}
    make = ["make", "-C", str(REPO), "--no-print-directory",
            f"DESTDIR={tmp_path}", "PREFIX=/usr"]
    r = run(make + ["install-feed-web"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    home = tmp_path / "usr/share/crmpubsub/feed-web"
    shipped = sorted(p.relative_to(APP_DIR).as_posix()
                     for p in (APP_DIR / "feedweb").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")
                  if p.is_file()) == sorted(shipped + ["README.md"])
    r = run([sys.executable, "-m", "feedweb", "--help"], cwd=tmp_path,
            env=dict(env, PYTHONPATH=f"{home}:{REPO / 'client/python'}"))
    assert r.returncode == 0 and "--heartbeat" in r.stdout, r.stderr
    r = run(make + ["uninstall-feed-web"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # What stays is the list of directories `make install` created, which
    # the top-level `make uninstall` takes away with them.
    left = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
            if p.is_file() and p.is_relative_to(tmp_path / "usr")]
    assert left == ["usr/share/crmpubsub/installed-dirs"]
