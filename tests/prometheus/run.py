# SPDX-License-Identifier: MIT — crmpubsub
"""The example alerts and what docs/operations.md ("Monitoring") tells an
operator to do, done for real. First `promtool check rules` and `promtool
test rules` (tests/prometheus/alerts_test.yml) on docs/alerts.yml; then a
daemon with metrics_listen on 127.0.0.1 (port 0, read from its log),
federated through a real redis-server, scraped every second by Debian's
prometheus with docs/alerts.yml loaded, and also read the textfile way
(crmpubsub-cli metrics -o into the directory of a real node_exporter,
scraped as job "node"). Checks that every metric the docs
list is there, that every alert expression evaluates through /api/v1/query,
and that the alerts go pending on the conditions they describe: connections
near max_connections and refused, pushes dropped and resyncs sent, the Redis
link down, the daemon down.

usage: /usr/bin/python3 tests/prometheus/run.py TOP_DIR
Prints one line per check and writes "passed failed" to $SUITE_COUNTS.
Every wait is bounded."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
DAEMON = os.environ.get("CRMPUBSUBD", os.path.join(TOP, "daemon/crmpubsubd"))
WAIT = 30.0                 # bound for any one condition
MAX_CONNECTIONS = 10

passed = failed = 0


def check(ok, what):
    """Counts and prints one check."""
    global passed, failed
    if ok:
        passed += 1
        print("PASS: " + what)
    else:
        failed += 1
        print("FAIL: " + what)
    return ok


def wait_for(fn, what, bound=WAIT):
    """Calls fn until it returns something true; that value, or None after
    bound seconds (a failed check)."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        try:
            v = fn()
        except (OSError, ValueError, KeyError):
            v = None
        if v:
            return v
        time.sleep(0.2)
    check(False, what + " (waited %.0f s)" % bound)
    return None


def free_port():
    """A loopback port that was free a moment ago (prometheus cannot report
    the port it gets from port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, path, **params):
    """GET a Prometheus API path; its "data", or raise."""
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise ValueError(body)
    return body["data"]


def query(base, expr):
    """An instant query's result vector."""
    return api(base, "/api/v1/query", query=expr)["result"]


def alert_states(base, job=None):
    """{alertname: state} of the alerts Prometheus holds now (of one scrape
    job's series, when given)."""
    return {a["labels"]["alertname"]: a["state"]
            for a in api(base, "/api/v1/alerts")["alerts"]
            if job is None or a["labels"].get("job") == job}


def write_textfile(sock, path):
    """crmpubsub-cli metrics -o path, as the timer unit runs it; its exit
    status."""
    return subprocess.run([os.path.join(TOP, "client/crmpubsub-cli"), "-s",
                           sock, "-t", "5", "metrics", "-o", path],
                          capture_output=True, timeout=30).returncode


class Client:
    """One connection to the daemon's socket, line by line."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        self.s.connect(path)
        self.f = self.s.makefile("r")

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def reply(self):
        """The next line that is a reply (pushes are skipped)."""
        while True:
            line = json.loads(self.f.readline())
            if "ok" in line:
                return line

    def close(self):
        self.f.close()
        self.s.close()


def uuid(n):
    return "0190a5b2-7c1e-7a01-8f00-%012x" % n


def log_port(path):
    """The port the daemon's log says it serves /metrics on."""
    with open(path) as f:
        m = re.search(r"serving /metrics on 127\.0\.0\.1:(\d+)", f.read())
    return int(m.group(1)) if m else None


def docs_prometheus_config(alerts, target):
    """The YAML docs/operations.md tells an operator to put into
    prometheus.yml, with its rule file and target replaced by alerts and
    target; None when the docs no longer have it in that form."""
    with open(os.path.join(TOP, "docs/operations.md")) as f:
        blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", f.read(),
                                        re.M | re.S)
                  if "job_name: crmpubsub" in b]
    if len(blocks) != 1:
        return None
    old_rules, old_target = ("/etc/prometheus/crmpubsub-alerts.yml",
                             "'127.0.0.1:9470'")
    if old_rules not in blocks[0] or old_target not in blocks[0]:
        return None
    return (blocks[0].replace(old_rules, alerts)
            .replace(old_target, "'%s'" % target))


def main():
    work = tempfile.mkdtemp(prefix="crmpubsub-prom.")
    procs = []

    def spawn(argv, log):
        p = subprocess.Popen(argv, stdout=open(log, "ab"),
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        procs.append(p)
        return p

    try:
        run(work, spawn)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if failed:
            for name in ("daemon.log", "prometheus.log", "redis.log",
                         "node.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    print("--- %s (last lines)" % name)
                    print("".join(open(path).readlines()[-15:]))
        shutil.rmtree(work, ignore_errors=True)


def run(work, spawn):
    alerts = os.path.join(TOP, "docs/alerts.yml")
    r = subprocess.run(["promtool", "check", "rules", alerts],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "promtool check rules docs/alerts.yml"
          + ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))
    r = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"],
                       cwd=os.path.join(TOP, "tests/prometheus"),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "promtool test rules alerts_test.yml"
          + ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))

    sock = os.path.join(work, "d.sock")
    rsock = os.path.join(work, "redis.sock")
    redis = spawn(["redis-server", "--port", "0", "--unixsocket", rsock,
                   "--save", "", "--appendonly", "no", "--dir", work],
                  os.path.join(work, "redis.log"))
    wait_for(lambda: os.path.exists(rsock), "redis-server starts")
    daemon = spawn([DAEMON, "-s", sock, "--metrics-listen", "127.0.0.1:0",
                    "--max-connections", str(MAX_CONNECTIONS),
                    "--max-outbuf", "256", "--redis", "unix://" + rsock],
                   os.path.join(work, "daemon.log"))
    port = wait_for(lambda: log_port(os.path.join(work, "daemon.log")),
                    "the daemon names its metrics port")
    if port is None:
        return

    # The textfile route: the file the timer writes, read by node_exporter.
    textdir = os.path.join(work, "textfile")
    os.mkdir(textdir)
    prom = os.path.join(textdir, "crmpubsub.prom")
    check(write_textfile(sock, prom) == 0, "crmpubsub-cli metrics -o writes "
          "the textfile")
    node = "127.0.0.1:%d" % free_port()
    spawn(["prometheus-node-exporter", "--collector.disable-defaults",
           "--collector.textfile", "--collector.textfile.directory=" + textdir,
           "--web.listen-address=" + node], os.path.join(work, "node.log"))

    # The Prometheus configuration of docs/operations.md, at 1 s intervals,
    # with the node job of Debian's prometheus.yml.
    web = "127.0.0.1:%d" % free_port()
    base = "http://" + web
    conf = os.path.join(work, "prometheus.yml")
    docs_conf = docs_prometheus_config(os.path.join(TOP, "docs/alerts.yml"),
                                       "127.0.0.1:%d" % port)
    if not check(docs_conf is not None, "docs/operations.md gives the "
                 "Prometheus configuration"):
        return
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                + docs_conf + "  - job_name: node\n"
                "    static_configs:\n      - targets: ['%s']\n" % node)
    r = subprocess.run(["promtool", "check", "config", conf],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "promtool check config accepts it"
          + ("" if r.returncode == 0 else ":\n" + r.stdout + r.stderr))
    spawn(["prometheus", "--config.file=" + conf,
           "--storage.tsdb.path=" + os.path.join(work, "data"),
           "--web.listen-address=" + web, "--log.level=warn"],
          os.path.join(work, "prometheus.log"))
    wait_for(lambda: urllib.request.urlopen(base + "/-/ready", timeout=2)
             .status == 200, "prometheus becomes ready")

    # The metrics are there, federation included.
    # Both jobs scraped, before anything below changes a counter: a
    # series' first sample is where increase() starts counting.
    if not wait_for(lambda: query(
            base, 'crmpubsub_federation_up{job="crmpubsub"} == 1'),
            "scraped with the Redis link up"):
        return
    if not wait_for(lambda: query(base, 'crmpubsub_up{job="node"} == 1'),
                    "the textfile scraped through node_exporter"):
        return
    check(True, "prometheus scrapes the daemon (%s)" % web)
    names = {s["metric"]["__name__"]
             for s in query(base, '{__name__=~"crmpubsub_.+",job="crmpubsub"}')}
    via_node = wait_for(lambda: {s["metric"]["__name__"] for s in query(
        base, '{__name__=~"crmpubsub_.+",job="node"}')}, "the textfile is "
        "scraped through node_exporter")
    check(via_node == names, "the textfile route has the same metrics"
          + ("" if via_node == names else ": " + " ".join(
              sorted((via_node or set()) ^ names))))
    errors = query(base, 'node_textfile_scrape_error{job="node"} == 0')
    check(len(errors) == 1, "node_exporter reads the file without error")
    docs = open(os.path.join(TOP, "docs/operations.md")).read()
    listed = set(re.findall(r"^\| `(crmpubsub_[a-z_]+)[`{]", docs, re.M))
    check(len(listed) >= 20, "docs/operations.md lists %d metrics" % len(listed))
    missing = listed - names
    check(not missing, "every metric the docs list is scraped"
          + (": missing " + ", ".join(sorted(missing)) if missing else ""))
    extra = names - listed
    check(not extra, "every scraped metric is in the docs"
          + (": not listed " + ", ".join(sorted(extra)) if extra else ""))

    # Every alert's expression evaluates, as a query and as a rule.
    def evaluated():
        rules = [r for g in api(base, "/api/v1/rules")["groups"]
                 for r in g["rules"]]
        return rules if all(r["health"] != "unknown" for r in rules) else None
    rules = wait_for(evaluated, "the rules are evaluated")
    if not rules:
        return
    check(len(rules) == 7, "%d alerting rules loaded" % len(rules))
    stale = query(base, "time() - node_textfile_mtime_seconds"
                  '{file=~".*crmpubsub[.]prom"}')
    check(len(stale) == 1, "the stale-file expression finds the file")
    for r in rules:
        try:
            query(base, r["query"])
            ok = r["health"] == "ok" and not r.get("lastError")
        except (OSError, ValueError):
            ok = False
        check(ok, "%s evaluates: %s" % (r["name"], r["query"]))

    # Connections: fill max_connections, one more is refused.
    conns = [Client(sock)]
    conns[0].send({"op": "subscribe", "topics": [
        "crm:contact:%s:interactions" % uuid(1)]})
    conns[0].reply()
    while len(conns) < MAX_CONNECTIONS:
        conns.append(Client(sock))
    extra_conn = Client(sock)
    refused = extra_conn.reply()
    check(refused.get("error") == "too_many", "connection %d refused"
          % (MAX_CONNECTIONS + 1))
    extra_conn.close()

    # Drops and resyncs: conns[0] stops reading while conns[1] broadcasts;
    # then it reads again, and gets its resync.
    w = conns[1]
    for i in range(3000):
        w.send({"op": "broadcast_to_contacts", "event": "interaction_created",
                "interaction_uuid": uuid(1000 + i), "contact_uuids": [uuid(1)]})
        w.reply()
    got = None
    while got is None or got.get("type") != "resync":
        got = json.loads(conns[0].f.readline())
    check(True, "the slow subscriber got its resync")

    for name in ("CrmpubsubConnectionsNearLimit", "CrmpubsubConnectionsRejected",
                 "CrmpubsubDroppingPushes"):
        state = wait_for(lambda: alert_states(base).get(name), name + " goes off")
        if state:
            check(True, "%s is %s" % (name, state))
    wait_for(lambda: query(base, "crmpubsub_resyncs_total > 0"),
             "crmpubsub_resyncs_total moved")
    for c in conns:
        c.close()

    # The Redis link goes down, then the daemon.
    redis.send_signal(signal.SIGTERM)
    redis.wait(timeout=10)
    state = wait_for(lambda: alert_states(base).get("CrmpubsubFederationDown"),
                     "CrmpubsubFederationDown goes off")
    if state:
        check(True, "CrmpubsubFederationDown is %s" % state)
    daemon.send_signal(signal.SIGTERM)
    check(daemon.wait(timeout=10) == 0, "the daemon exits cleanly")
    state = wait_for(lambda: alert_states(base, "crmpubsub")
                     .get("CrmpubsubDown"), "CrmpubsubDown goes off")
    if state:
        check(True, "CrmpubsubDown is %s" % state)
    check(write_textfile(sock, prom) == 3, "crmpubsub-cli metrics -o exits 3 "
          "with the daemon gone")
    state = wait_for(lambda: alert_states(base, "node").get("CrmpubsubDown"),
                     "CrmpubsubDown goes off through the textfile")
    if state:
        check(True, "CrmpubsubDown is %s through the textfile" % state)


if __name__ == "__main__":
    main()
    print("%d passed, %d failed" % (passed, failed))
    counts = os.environ.get("SUITE_COUNTS")
    if counts:
        with open(counts, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    sys.exit(1 if failed else 0)
