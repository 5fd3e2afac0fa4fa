#!/usr/bin/python3
# SPDX-License-Identifier: MIT — crmpubsub
"""What a broadcast costs a Python caller through the crmpubsub package
(ctypes over libcrmpubsub.so.1), next to the C library's own cost.

Per case: calls per second (wall clock), "cpu" the calling thread's CPU
time per call (time.thread_time), "+lib" the whole process's CPU time per
call (time.process_time: adds the library's flusher thread). Interactions
and UUIDs are built before the timed loop, as tests/bench/client_cost.c
does. When tests/bench/client_cost is built, its figures for the same
number of calls follow, as the C reference.

    tests/bench/python_cost.py [--top REPO] [-n CALLS]

Runs Debian's /usr/bin/python3 against the tree's daemon and library; a
daemon is started on a private socket and stopped at the end."""

import argparse
import os
import subprocess
import sys
import threading
import time
import types


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--top", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", ".."))
    p.add_argument("-n", type=int, default=100000, help="calls per case")
    return p.parse_args()


ARGS = parse_args()
TOP = os.path.abspath(ARGS.top)
sys.path.insert(0, os.path.join(TOP, "client/python"))
sys.path.insert(0, os.path.join(TOP, "client/python/tests"))
import crmpubsub  # noqa: E402
from crmpubsub import _args  # noqa: E402
import crmtest  # noqa: E402

N = ARGS.n
u = crmtest.uuid_n


def dicts(n):
    """n interactions as dicts: a subject and two parties."""
    return [{"uuid": u(0x100000 + i), "contact_uuid": u(1),
             "parties": [{"contact_uuid": u(2)}, {"contact_uuid": u(3)}]}
            for i in range(n)]


def objects(n):
    """n interactions as objects, as an ORM hands them out."""
    ns = types.SimpleNamespace
    parties = [ns(contact_uuid=u(2)), ns(contact_uuid=u(3))]
    return [ns(uuid=u(0x100000 + i), contact_uuid=u(1), parties=parties)
            for i in range(n)]


def measure(label, calls, fn, client=None, threads=1):
    """Runs fn() (which makes `calls` calls in total) and prints one row."""
    w0, t0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    fn()
    w1, t1, p1 = time.perf_counter(), time.thread_time(), time.process_time()
    tail = ""
    if client is not None:
        client.flush(10)
        st = client.stats()
        tail = f"acked {st['acked']} dropped {st['dropped']} " \
               f"lost {st['lost']}"
    cpu = "-" if threads > 1 else f"{(t1 - t0) / calls * 1e6:.2f}"
    print(f"{label:<44} {calls:>7} {calls / (w1 - w0):>11,.0f} "
          f"{cpu:>6} {(p1 - p0) / calls * 1e6:>6.2f}   {tail}", flush=True)


def main():
    d = crmtest.Daemon().start()
    try:
        print(f"crmpubsub {crmpubsub.__version__} over "
              f"{crmpubsub.library_path()} (libcrmpubsub "
              f"{crmpubsub.version()}), Python {sys.version.split()[0]}")
        print(f"{'case':<44} {'calls':>7} {'calls/s':>11} {'cpu':>6} "
              f"{'+lib':>6}   (µs per call)")
        its = dicts(N)
        with crmpubsub.Client(d.sock, "bench") as c:
            b = c.broadcast_interaction
            measure("broadcast_interaction, dict, daemon up", N,
                    lambda: [b("interaction_created", it) for it in its], c)
        objs = objects(N)
        with crmpubsub.Client(d.sock, "bench") as c:
            b = c.broadcast_interaction
            measure("broadcast_interaction, object, daemon up", N,
                    lambda: [b("interaction_updated", it) for it in objs], c)
        contacts = [u(1), u(2), u(3)]
        ids = [u(0x100000 + i) for i in range(N)]
        with crmpubsub.Client(d.sock, "bench") as c:
            b = c.broadcast_to_contacts
            measure("broadcast_to_contacts, 3 contacts, up", N,
                    lambda: [b("created", i, contacts) for i in ids], c)
        with crmpubsub.Client(d.sock, "bench") as c:
            per = N // 4
            b = c.broadcast_interaction

            def work(part):
                for it in its[part * per:(part + 1) * per]:
                    b("interaction_created", it)

            def four():
                ts = [threading.Thread(target=work, args=(k,))
                      for k in range(4)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            measure("broadcast_interaction, 4 threads, 1 client", per * 4,
                    four, c, threads=4)
        def checks():
            for it in its:
                _args.event_number("interaction_created")
                _args.interaction(it, True)
        measure("argument checks alone (no library call)", N, checks)
        with crmpubsub.Client(os.path.join(d.dir, "absent.sock"), "bench",
                              max_queue_bytes=4096) as c:
            b = c.broadcast_interaction
            measure("broadcast_interaction, daemon down (dropping)", N,
                    lambda: [b("interaction_created", it) for it in its], c)
    finally:
        d.stop()
        d.cleanup()
    cost = os.path.join(TOP, "tests/bench/client_cost")
    if os.access(cost, os.X_OK):
        print("\nthe C library alone (tests/bench/client_cost), µs per call:")
        env = dict(os.environ, CRMPUBSUBD=crmtest.daemon_bin())
        out = subprocess.run([cost, "-n", str(N)], capture_output=True,
                             text=True, env=env, timeout=600).stdout
        print("\n".join(line for line in out.splitlines()
                        if not line.startswith("crmpubsubd:")))


if __name__ == "__main__":
    main()
