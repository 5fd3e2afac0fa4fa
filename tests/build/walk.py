# SPDX-License-Identifier: MIT — crmpubsub
"""A newcomer's walk: the commands of README.md ("30 seconds with the CLI",
"The same by hand with socat") and of docs/client.md ("From an empty
directory to a writer and a subscriber") run as they are written, against
the real daemon, and print exactly what the documents show. Run as root,
the README's CLI session also runs as an ordinary user (nobody) beside a
root daemon, with no socket named, as README.md promises.

The blocks are read from the documents, not copied here. A block whose
lines start with "$ " is a terminal transcript: each "$ " line (with its
"\\" continuations) is a command, the lines after it its output (stdout and
stderr, in order), except a protocol request ('{"op":…') in an interactive
session, which is what the user types. A plain block is further output of
the section's first command (the subscriber's terminal), which stays open,
as does a session the user types into; every other command must end,
successfully, with nothing more printed. A "sh" block without prompts is a
script that must succeed; a one-line script ending in "&" starts a
background program (the daemon), which must print its start-up line.

What a test cannot do as written is replaced, and every replacement must
be used: the README's `make run` is this tree's daemon on a private socket
(CRMPUBSUB_SOCKET names it, so the tools find it as they find any daemon),
`sudo make install` is `make install DESTDIR=<stage>` with pkg-config and
the loader pointed at the stage, `/tmp/demo.sock` is a private socket and
`~` a fresh home directory."""

import os
import pwd
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WAIT = 20               # seconds for any one expected line
SCRIPT_WAIT = 300       # seconds for a script (step 1 builds and installs)


class WalkError(Exception):
    pass


# (uid, gid) the commands run as; None: as whoever runs the walk.
RUN_AS = None


def as_user():
    """Popen arguments that run a command as RUN_AS."""
    if RUN_AS is None:
        return {}
    return {"user": RUN_AS[0], "group": RUN_AS[1], "extra_groups": []}


def section(path, title):
    """The text of the "## title" section of a Markdown file."""
    text = open(os.path.join(TOP, path), encoding="utf-8").read()
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", text,
                  re.S | re.M)
    if not m:
        raise WalkError(f"{path} has no section '## {title}'")
    return m.group(1)


def blocks(text):
    """The fenced blocks of text, in order: (language, lines), with the
    indentation of a list item's block removed."""
    out = []
    for m in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```$", text, re.S | re.M):
        indent = len(m.group(1))
        lines = [ln[indent:] for ln in m.group(3).splitlines()]
        out.append((m.group(2), lines))
    return out


def transcript(lines):
    """A "$ " block as [(command, [("out"|"in", line)…])]."""
    steps, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise WalkError(f"output before any command: {lines[i]!r}")
        cmd = lines[i][2:]
        while cmd.endswith("\\"):
            i += 1
            cmd += "\n" + lines[i]
        i += 1
        io = []
        while i < len(lines) and not lines[i].startswith("$ "):
            kind = "in" if lines[i].startswith('{"op"') else "out"
            io.append((kind, lines[i]))
            i += 1
        steps.append((cmd, io))
    return steps


class Terminal:
    """One command run as a user runs it in a terminal: stdout and stderr
    on one pipe, read line by line with a bounded wait."""

    def __init__(self, cmd, cwd, env):
        self.cmd = cmd
        self.p = subprocess.Popen(
            ["sh", "-c", cmd], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, **as_user())
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def expect(self, want):
        try:
            got = self.lines.get(timeout=WAIT)
        except queue.Empty:
            raise WalkError(f"`{self.cmd}`: no line within {WAIT} s; "
                            f"expected {want!r}") from None
        if got != want:
            raise WalkError(f"`{self.cmd}` printed\n  {got!r}\n"
                            f"where the document shows\n  {want!r}")

    def type(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def ended(self):
        """Waits for the command to end: status 0, nothing more printed."""
        try:
            self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            raise WalkError(f"`{self.cmd}` still running {WAIT} s after "
                            "printing what the document shows") from None
        self.reader.join(WAIT)
        rest = [ln for ln in list(self.lines.queue) if ln is not None]
        if rest:
            raise WalkError(f"`{self.cmd}` printed more than the document "
                            f"shows: {rest}")
        if self.p.returncode != 0:
            raise WalkError(f"`{self.cmd}` exited {self.p.returncode}")

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.p.stdin.close()


class Walk:
    """Runs one document's blocks in order, as one user at one machine."""

    def __init__(self, name, cwd, env, subst):
        self.name, self.cwd, self.env = name, cwd, env
        self.subst = dict(subst)        # document text -> what runs
        self.used = set()
        self.terms = []                 # every command of a transcript
        self.background = []            # programs started with "&"
        self.commands = 0

    def sub(self, text):
        for doc, real in self.subst.items():
            if doc in text:
                self.used.add(doc)
                text = text.replace(doc, real)
        return text

    @staticmethod
    def prompted(lines):
        return any(ln.startswith("$ ") for ln in lines)

    def script(self, lines):
        body = self.sub("\n".join(lines))
        self.commands += 1
        if len(lines) == 1 and body.rstrip().endswith("&"):
            t = Terminal(body.rstrip()[:-1], self.cwd, self.env)
            self.background.append(t)
            first = t.lines.get(timeout=WAIT)    # its start-up line
            if first is None or t.p.poll() is not None:
                raise WalkError(f"`{lines[0]}` ended at once: {first}")
            return
        where = os.path.join(self.env["HOME"], ".walk-cwd")
        p = subprocess.Popen(["sh", "-ec", body + f'\npwd >"{where}"\n'],
                             cwd=self.cwd, env=self.env,
                             start_new_session=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, **as_user())
        try:
            out, _ = p.communicate(timeout=SCRIPT_WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise WalkError(f"script still running after {SCRIPT_WAIT} s:\n"
                            + "\n".join(lines)) from None
        if p.returncode != 0:
            raise WalkError("script failed (exit %d):\n%s\n--- output:\n%s"
                            % (p.returncode, "\n".join(lines),
                               out.decode(errors="replace")[-3000:]))
        self.cwd = open(where).read().strip()

    def transcript(self, lines, continued):
        """Runs each command; one that takes input, or the section's first
        when a plain block continues it, stays open; any other must end,
        successfully, having printed exactly what the document shows."""
        for cmd, io in transcript(lines):
            self.commands += 1
            t = Terminal(self.sub(cmd), self.cwd, self.env)
            stays = any(k == "in" for k, _ in io) or (
                continued and not self.terms)
            self.terms.append(t)
            for kind, line in io:
                if kind == "in":
                    t.type(line)
                else:
                    t.expect(self.sub(line))
            if not stays:
                t.ended()

    def more_output(self, lines):
        if not self.terms or self.terms[0].p.poll() is not None:
            raise WalkError(f"output block with no command running: {lines}")
        for line in lines:
            self.terms[0].expect(self.sub(line))

    def run(self, text):
        try:
            found = blocks(text)
            continued = any(lang == "" and not self.prompted(lines)
                            for lang, lines in found)
            for lang, lines in found:
                if self.prompted(lines):
                    self.transcript(lines, continued)
                elif lang == "sh":
                    self.script(lines)
                elif lang == "":
                    self.more_output(lines)
            unused = set(self.subst) - self.used
            if unused:
                raise WalkError(f"the document no longer says {sorted(unused)}"
                                " (update tests/build/walk.py)")
        finally:
            for t in self.terms + self.background:
                t.stop()
        return self.commands


def user_env(home, **extra):
    """A user's shell: no make or mix state from the outer `make check`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "O", "SANITIZE",
                        "CRMPUBSUB_SOCKET", "CRMPUBSUB_LOG",
                        "CRMPUBSUB_LIBRARY")}
    env["HOME"] = home
    env.update(extra)
    return env


def readme(tmp):
    """README.md's CLI and socat sessions against this tree's daemon."""
    home = os.path.join(tmp, "readme-home")
    os.mkdir(home)
    sock = os.path.join(tmp, "readme.sock")
    env = user_env(home, CRMPUBSUB_SOCKET=sock)
    daemon = Terminal(f"exec ./daemon/crmpubsubd -s {sock}", TOP, env)
    try:
        first = daemon.lines.get(timeout=WAIT)
        if first is None or "listening on" not in first:
            raise WalkError(f"the daemon did not start: {first}")
        # Each section's terminals are interrupted before the next one.
        n = Walk("README.md", TOP, env,
                 {"/run/user/1000/crmpubsub.sock": sock}).run(
            section("README.md", "30 seconds with the CLI"))
        n += Walk("README.md", TOP, env, {}).run(
            section("README.md", "The same by hand with socat"))
    finally:
        daemon.stop()
    if n < 4:
        raise WalkError(f"README.md: only {n} commands found")
    return n


def readme_as_user(tmp):
    """README.md's CLI session as an ordinary user would run it, when the
    walk runs as root: `make run`'s daemon as `nobody` without a login
    session, so on /tmp/crmpubsub-<uid>/, while root's daemon holds
    /run/crmpubsub/crmpubsub.sock (mode 0660, which nobody may not
    connect to) when that path is free. No socket is named anywhere: the
    daemon and the tools must find the user's own by themselves."""
    global RUN_AS
    pw = pwd.getpwnam("nobody")
    mine = tempfile.mkdtemp(prefix="crmpubsub-walk-user.")
    os.chmod(mine, 0o755)
    home = os.path.join(mine, "home")
    os.mkdir(home, 0o700)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    env = user_env(home, USER="nobody", PATH="/usr/local/bin:/usr/bin:/bin")
    env.pop("XDG_RUNTIME_DIR", None)
    sock_dir = f"/tmp/crmpubsub-{pw.pw_uid}"
    sock = os.path.join(sock_dir, "crmpubsub.sock")
    made_sock_dir = not os.path.exists(sock_dir)
    root_daemon = None
    if not os.path.exists("/run/crmpubsub"):
        root_daemon = Terminal("mkdir -p /run/crmpubsub && exec "
                               "./daemon/crmpubsubd -v -s "
                               "/run/crmpubsub/crmpubsub.sock", TOP,
                               user_env(home))
        first = root_daemon.lines.get(timeout=WAIT)
        if first is None or "listening on" not in first:
            raise WalkError(f"root's daemon did not start: {first}")
    RUN_AS = (pw.pw_uid, pw.pw_gid)
    try:
        # make run's command, less its `all`, which would write the tree.
        daemon = Terminal("exec ./daemon/crmpubsubd -v", TOP, env)
        try:
            first = daemon.lines.get(timeout=WAIT)
            if first is None or "listening on" not in first:
                raise WalkError(f"the daemon did not start: {first}")
            if sock not in first:
                raise WalkError(f"the daemon is not on {sock}: {first}")
            return Walk("README.md", TOP, env,
                        {"/run/user/1000/crmpubsub.sock": sock}).run(
                section("README.md", "30 seconds with the CLI"))
        finally:
            daemon.stop()
    finally:
        RUN_AS = None
        if root_daemon is not None:
            root_daemon.stop()
            shutil.rmtree("/run/crmpubsub", ignore_errors=True)
        if made_sock_dir:
            shutil.rmtree(sock_dir, ignore_errors=True)
        shutil.rmtree(mine, ignore_errors=True)


def client_md(tmp):
    """docs/client.md's first steps, installed into a staging tree."""
    home = os.path.join(tmp, "home")
    stage = os.path.join(tmp, "stage")
    os.mkdir(home)
    lib = f"{stage}/usr/local/lib"
    env = user_env(home, PKG_CONFIG_SYSROOT_DIR=stage,
                   PKG_CONFIG_PATH=f"{lib}/pkgconfig", LD_LIBRARY_PATH=lib)
    walk = Walk("docs/client.md", TOP, env, {
        "sudo make install": f"make -s install DESTDIR={stage}",
        "/usr/local/sbin/crmpubsubd": f"{stage}/usr/local/sbin/crmpubsubd",
        "/tmp/demo.sock": os.path.join(tmp, "demo.sock"),
    })
    n = walk.run(section("docs/client.md",
                         "From an empty directory to a writer and a "
                         "subscriber"))
    if n < 5:
        raise WalkError(f"docs/client.md: only {n} steps found")
    return n


def main():
    tmp = tempfile.mkdtemp(prefix="crmpubsub-walk.")
    passed = failed = 0
    try:
        walks = [("README.md", readme), ("docs/client.md", client_md)]
        if os.geteuid() == 0:
            walks.append(("README.md as an ordinary user", readme_as_user))
        for name, walk in walks:
            try:
                n = walk(tmp)
                print(f"PASS: {name}: {n} commands run as written")
                passed += 1
            except (WalkError, OSError, subprocess.SubprocessError) as e:
                print(f"FAIL: {name}: {e}", file=sys.stderr)
                failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if os.environ.get("SUITE_COUNTS"):
        with open(os.environ["SUITE_COUNTS"], "w") as f:
            f.write(f"{passed} {failed}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
