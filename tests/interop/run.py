#!/usr/bin/python3
# SPDX-License-Identifier: MIT — crmpubsub
"""The three clients against each other through one real crmpubsubd: a C,
a Python and an Elixir writer each broadcast, and a C, a Python and an
Elixir subscriber must each receive every push meant for its feeds exactly
once. One check per writer→subscriber pair (9), counted for tests/suite.sh.

    tests/interop/run.py        (make check-interop)

The programs are the real ones: the example writer and subscriber in C
(client/examples) and in Python (client/python/examples), run once per
broadcast, and tests/interop/writer.exs and subscriber.exs, which speak the
same lines through CrmPubSub (built offline into a temporary directory,
nothing written into the tree). CRMPUBSUB_BUILD, CRMPUBSUBD and
CRMPUBSUB_LIBRARY name the build under test, as for the Python suite.

Every subscriber follows the shared contacts, one contact of its own and
the marker; one contact is followed by nobody. Each writer sends six
broadcasts with interaction UUIDs of its own: broadcast_interaction and
broadcast_to_contacts, each with the three events, with unresolved
parties, null entries and a contact repeated in uppercase (the
involved-contacts rule of docs/protocol.md), and an uppercase interaction
UUID. The subscribers must be live before any writer starts: each prints
"subscribed N" and the daemon's `clients` op shows its connection holding N
topics. The writers then run at the same time. A broadcast to the marker
ends the run: the daemon pushes it after every acknowledged broadcast, so
once a subscriber printed it, it has printed everything else. A pair passes
when the subscriber's lines from that writer are exactly the expected
pushes, per feed in the order sent: nothing missing, nothing twice,
nothing extra, no resync."""

import collections
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "client/python/tests"))

from crmtest import (EXAMPLES, Daemon, Peer, library_file,  # noqa: E402
                     python_env, uuid_n)

HERE = Path(__file__).resolve().parent
ELIXIR_PROJECT = REPO / "client/elixir"
LANGS = ("c", "python", "elixir")
READY_TIMEOUT = 30.0	# a subscriber's start (the BEAM's included)
RUN_TIMEOUT = 30.0	# one writer program, the marker's arrival

SHARED = [uuid_n(0x10), uuid_n(0x11), uuid_n(0x12)]
OWN = {"c": uuid_n(0x20), "python": uuid_n(0x21), "elixir": uuid_n(0x22)}
NOBODY = uuid_n(0x30)
MARKER = uuid_n(0x40)
MARKER_INTERACTION = uuid_n(0x4a)


def feeds(sub: str) -> list:
    """The contacts a subscriber follows (its arguments, marker first)."""
    return [MARKER, *SHARED, OWN[sub]]


def interaction_uuid(writer: str, k: int) -> str:
    """The k-th interaction UUID of a writer: no two writers share one."""
    return f"1a7e0000-0000-4000-8000-{LANGS.index(writer) + 1:04x}{k:08x}"


def plan(writer: str) -> list:
    """A writer's broadcasts, as arguments of the example writers."""
    s1, s2, s3 = SHARED
    pc, pp, pe = OWN["c"], OWN["python"], OWN["elixir"]
    i = [interaction_uuid(writer, k) for k in range(7)]
    up = str.upper
    return [
        ["interaction_created", i[1], s1, s2, "-", up(s1)],
        ["interaction_updated", i[2], "-", pc, up(pp), NOBODY, pe],
        ["interaction_deleted", up(i[3]), up(s3), s3, pe],
        ["-c", "interaction_created", i[4], s3, up(s3), "-", pp],
        ["-c", "interaction_updated", i[5], NOBODY],
        ["-c", "interaction_deleted", i[6], s1, pc, s2, pe, up(s2), pp],
    ]


def involved(args: list) -> list:
    """docs/protocol.md's rule: the contacts in order, no nulls, the first
    of each (compared in lowercase), in lowercase."""
    out = []
    for u in args[2 if args[0] != "-c" else 3:]:
        if u != "-" and u.lower() not in out:
            out.append(u.lower())
    return out


def broadcast(args: list):
    """(event, interaction UUID as pushed, involved contacts)."""
    ev, uuid = (args[1], args[2]) if args[0] == "-c" else (args[0], args[1])
    return ev, uuid.lower(), involved(args)


def followers(contact: str) -> int:
    """How many subscribers follow a contact."""
    return sum(contact in feeds(s) for s in LANGS)


def expected(writer: str, sub: str) -> dict:
    """The pushes a subscriber gets from a writer: per contact, in order,
    (event, contact, interaction UUID)."""
    out = collections.defaultdict(list)
    for args in plan(writer):
        ev, uuid, contacts = broadcast(args)
        for c in contacts:
            if c in feeds(sub):
                out[c].append((ev, c, uuid))
    return out


def writer_lines(args: list, lang: str) -> list:
    """What an example writer prints for one broadcast."""
    ev, uuid, contacts = broadcast(args)
    lines = [] if args[0] == "-c" else [f"involved {c}" for c in contacts]
    if lang != "elixir":
        lines.append(f"acknowledged, delivered "
                     f"{sum(followers(c) for c in contacts)}")
    return lines


class Interop:
    """One run: the daemon, the programs, and the problems of each pair."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="crmpubsub-interop.")
        self.daemon = Daemon()
        self.problems = {(w, s): [] for w in LANGS for s in LANGS}
        self.subs = {}
        self.lines = {s: [] for s in LANGS}
        self.mix_env = None

    def problem(self, msg: str) -> None:
        for pair in self.problems:
            self.problems[pair].append(msg)

    def writer_problem(self, w: str, msg: str) -> None:
        for s in LANGS:
            self.problems[w, s].append(f"{w} writer: {msg}")

    def subscriber_problem(self, s: str, msg: str) -> None:
        for w in LANGS:
            self.problems[w, s].append(f"{s} subscriber: {msg}")

    def build_elixir(self) -> bool:
        """Compiles CrmPubSub offline into the temp directory."""
        env = dict(os.environ, MIX_HOME=f"{self.tmp}/mix",
                   HEX_HOME=f"{self.tmp}/hex", HEX_OFFLINE="1",
                   MIX_BUILD_PATH=f"{self.tmp}/mix-build", MIX_ENV="dev")
        for var in ("MIX_EXS", "MIX_BUILD_ROOT", "MIX_DEPS_PATH"):
            env.pop(var, None)
        try:
            r = subprocess.run(["mix", "compile"], cwd=ELIXIR_PROJECT,
                               env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            r = None
        if r is None or r.returncode != 0:
            msg = "mix compile failed: " + (r.stdout + r.stderr if r else
                                            "timed out")
            self.writer_problem("elixir", msg)
            self.subscriber_problem("elixir", msg)
            return False
        self.mix_env = env
        return True

    def command(self, lang: str, role: str, args: list) -> list:
        """The argv of a writer or subscriber program."""
        if lang == "elixir":
            return ["env", "-C", str(ELIXIR_PROJECT), "mix", "run",
                    "--no-compile", str(HERE / f"{role}.exs"),
                    self.daemon.sock, *args]
        return EXAMPLES[lang][role == "writer"] + ["-s", self.daemon.sock,
                                                   *args]

    def env(self, lang: str) -> dict:
        return self.mix_env if lang == "elixir" else \
            python_env(CRMPUBSUB_LIBRARY=library_file())

    def start_subscribers(self) -> None:
        """Starts every subscriber, then waits for each to be live."""
        for s in LANGS:
            if s == "elixir" and self.mix_env is None:
                continue
            self.subs[s] = Peer(self.command(s, "subscriber", feeds(s)),
                                env=self.env(s))
        live = []
        for s, peer in self.subs.items():
            first = peer.line(READY_TIMEOUT)
            if first == f"subscribed {len(feeds(s))}":
                live.append(s)
            else:
                self.subscriber_problem(s, f"not live: first line {first!r}; "
                                        + peer.describe())
        clients = self.daemon.request({"op": "clients"})["clients"]
        for s in live:
            held = [c["subscriptions"] for c in clients
                    if c["pid"] == self.subs[s].proc.pid]
            if held != [len(feeds(s))]:
                self.subscriber_problem(s, f"the daemon's clients op shows "
                                        f"its connections holding {held} "
                                        f"topics: {clients}")

    def run_writer(self, w: str) -> None:
        """A writer's broadcasts: one example run each (C, Python), or one
        writer.exs run for all (Elixir); then what it printed."""
        todo = plan(w)
        if w == "elixir":
            path = Path(self.tmp) / "plan"
            path.write_text("".join(" ".join(a) + "\n" for a in todo))
            runs = [(self.command(w, "writer", [str(path)]),
                     [ln for a in todo for ln in writer_lines(a, w)] +
                     [f"acknowledged {len(todo)}"])]
        else:
            runs = [(self.command(w, "writer", a), writer_lines(a, w))
                    for a in todo]
        for argv, want in runs:
            try:
                r = subprocess.run(argv, env=self.env(w),
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.writer_problem(w, f"{' '.join(argv)}: timed out")
                continue
            got = r.stdout.splitlines()
            # Elixir's involved_contact_uuids keeps a contact's first
            # spelling (C and Python write it in lowercase): the feeds it
            # names are what must agree.
            if w == "elixir":
                got = [g.lower() for g in got]
            if r.returncode != 0 or got != want:
                self.writer_problem(w, f"{' '.join(argv)}: exit "
                                    f"{r.returncode}, printed {got}, "
                                    f"expected {want}; {r.stderr}")

    def end_run(self) -> None:
        """Sends the marker, reads every subscriber up to it, stops them
        and reads what they printed until they exited."""
        marker = f"crm interaction_updated {MARKER} {MARKER_INTERACTION}"
        reply = self.daemon.request({
            "op": "broadcast_to_contacts", "event": "interaction_updated",
            "interaction_uuid": MARKER_INTERACTION, "contact_uuids": [MARKER]})
        if not reply or reply.get("delivered") != len(self.subs):
            self.problem(f"the marker did not reach every subscriber: "
                         f"{reply}")
        for s, peer in self.subs.items():
            while (line := peer.line(RUN_TIMEOUT)) is not None:
                self.lines[s].append(line)
                if line == marker:
                    break
            else:
                self.subscriber_problem(s, "the marker never came; "
                                        + peer.describe())
        for s, peer in self.subs.items():
            peer.proc.terminate()
            while (line := peer.line(RUN_TIMEOUT)) is not None:
                self.lines[s].append(line)
            if peer.wait() is None:
                self.subscriber_problem(s, "did not exit on SIGTERM")
            elif peer.proc.returncode != 0:
                self.subscriber_problem(s, f"exit {peer.proc.returncode}; "
                                        + peer.describe())
        stats = self.daemon.request({"op": "stats"})["stats"]
        if stats["dropped"] or stats["resyncs"]:
            self.problem(f"the daemon dropped pushes: {stats}")

    def judge(self) -> None:
        """Sorts each subscriber's lines by writer and compares them with
        the pushes expected of each pair."""
        owner = {broadcast(a)[1]: w for w in LANGS for a in plan(w)}
        marker = f"crm interaction_updated {MARKER} {MARKER_INTERACTION}"
        for s in self.subs:
            got = {w: collections.defaultdict(list) for w in LANGS}
            if self.lines[s].count(marker) != 1:
                self.subscriber_problem(s, f"the marker came "
                                        f"{self.lines[s].count(marker)} times")
            for line in self.lines[s]:
                f = line.split()
                if len(f) == 4 and f[0] == "crm" and f[3] in owner:
                    got[owner[f[3]]][f[2]].append(tuple(f[1:]))
                elif line != marker:
                    self.subscriber_problem(s, f"unexpected line {line!r}")
            for w in LANGS:
                self.compare(w, s, got[w])

    def compare(self, w: str, s: str, got: dict) -> None:
        """A pair's pushes against the expected ones, per contact."""
        want = expected(w, s)
        if got == want:
            return
        g = collections.Counter(m for ms in got.values() for m in ms)
        e = collections.Counter(m for ms in want.values() for m in ms)
        for m in sorted((e - g).elements()):
            self.problems[w, s].append(f"missing {' '.join(m)}")
        for m in sorted((g - e).elements()):
            self.problems[w, s].append(
                f"{'twice' if m in e else 'extra'}: {' '.join(m)}")
        for c in want:
            if g == e and got[c] != want[c]:
                self.problems[w, s].append(
                    f"out of order on {c}: {[m[2] for m in got[c]]}, sent "
                    f"as {[m[2] for m in want[c]]}")

    def run(self) -> int:
        """The whole run; the number of failed pairs."""
        try:
            self.daemon.start()
            self.build_elixir()
            self.start_subscribers()
            if all(s in self.subs for s in LANGS) and \
                    not any(self.problems.values()):
                with concurrent.futures.ThreadPoolExecutor(3) as pool:
                    list(pool.map(self.run_writer, LANGS))
                self.end_run()
                self.judge()
            else:
                self.problem("no broadcast sent: a subscriber was not live")
        finally:
            for peer in self.subs.values():
                peer.stop()
            if self.daemon.running and self.daemon.stop() != 0:
                self.problem("crmpubsubd did not exit cleanly:\n"
                             + self.daemon.log())
            self.daemon.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)
        failed = 0
        for (w, s), problems in self.problems.items():
            n = sum(len(ms) for ms in expected(w, s).values())
            if problems:
                failed += 1
                print(f"interop: {w} -> {s}: FAILED")
                for p in problems:
                    print(f"    {p}")
            else:
                print(f"interop: {w} -> {s}: ok, {n} pushes")
        return failed


def main() -> int:
    try:
        failed = Interop().run()
    except Exception:
        traceback.print_exc()
        failed = len(LANGS) ** 2
    counts = os.environ.get("SUITE_COUNTS")
    if counts:
        with open(counts, "w") as f:
            print(len(LANGS) ** 2 - failed, failed, file=f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
