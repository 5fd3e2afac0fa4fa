#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# What the PostgreSQL outbox costs and how fast it is (docs/postgres.md):
#   1. commits per second of the CRM's two writes (pg_create.sql: an
#      interaction with two parties; pg_edit.sql: its parties replaced and
#      the row updated), by pgbench, with the triggers detached and attached
#      in turns (crmpubsub-pg draining all along), at 1 and 8 clients;
#   2. commit -> push latency (pg_latency.c) idle and under the create load.
# Runs its own PostgreSQL 15 cluster (as the postgres user when root), daemon
# and bridge in a temp directory; prints a report and writes it to OUT.
#
# usage: tests/bench/pg_bench.sh [--top REPO_ROOT] [--out DIR]
# environment:
#   BENCH_QUICK=1   smoke run: one round of 2 s, fewer latency samples
#   PG_BINDIR       PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=1 secs=2 samples=100
else
	rounds=3 secs=5 samples=400
fi
bridge="$top/client/pg/crmpubsub-pg"
daemon="$top/daemon/crmpubsubd"
latency="$out/pg_latency"
log() { printf 'pg-bench: %s\n' "$*" >&2; }

for p in "$bindir/initdb" "$bindir/postgres" "$bindir/pgbench" "$bindir/psql" \
    "$bridge" "$daemon" "$latency"; do
	[ -x "$p" ] || { log "$p missing (make; apt-get install postgresql)"; exit 1; }
done

work=$(mktemp -d /tmp/crmpubsub-pgbench.XXXXXX)
pids=()
cleanup() {
	stop_all "${pids[@]}"
	[ -f "$work/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# PostgreSQL refuses to run as root: as root, its programs run as postgres.
as_pg() {
	if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$work"

# --- the cluster, the CRM tables, daemon and bridge --------------------------------
as_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres >"$work/initdb.log"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = 256MB
max_connections = 50
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w start >/dev/null
export PGHOST=$work PGUSER=postgres PGDATABASE=crm
"$bindir/psql" -X -q -d postgres -c 'CREATE DATABASE crm'
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE phoenix_kit_crm_contacts (uuid uuid PRIMARY KEY, name text);
CREATE TABLE phoenix_kit_crm_interactions (
  uuid uuid PRIMARY KEY,
  contact_uuid uuid REFERENCES phoenix_kit_crm_contacts ON DELETE CASCADE,
  subject text, occurred_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON phoenix_kit_crm_interactions (contact_uuid, occurred_at DESC);
CREATE TABLE phoenix_kit_crm_interaction_parties (
  uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  interaction_uuid uuid NOT NULL
    REFERENCES phoenix_kit_crm_interactions ON DELETE CASCADE,
  contact_uuid uuid REFERENCES phoenix_kit_crm_contacts ON DELETE SET NULL,
  raw_name text NOT NULL DEFAULT '');
CREATE INDEX ON phoenix_kit_crm_interaction_parties (interaction_uuid);
CREATE INDEX ON phoenix_kit_crm_interaction_parties (contact_uuid);
INSERT INTO phoenix_kit_crm_contacts
  SELECT md5(n::text)::uuid, 'contact ' || n FROM generate_series(1, 10000) n;
INSERT INTO phoenix_kit_crm_contacts VALUES ('c0ffee00-0000-4000-8000-00000000beef', 'latency');
INSERT INTO phoenix_kit_crm_interactions (uuid, contact_uuid, subject)
  SELECT md5('i' || n)::uuid, md5(n::text)::uuid, 'preloaded' FROM generate_series(1, 10000) n;
INSERT INTO phoenix_kit_crm_interaction_parties (interaction_uuid, contact_uuid)
  SELECT md5('i' || n)::uuid, md5(((n * 7) % 10000 + 1)::text)::uuid FROM generate_series(1, 10000) n;
VACUUM ANALYZE;
SQL
"$bindir/psql" -X -q -f "$top/client/pg/crmpubsub.sql" >/dev/null

sock="$work/crmpubsub.sock"
"$daemon" -s "$sock" 2>"$work/daemon.log" &
pids+=($!)
"$bridge" --dsn "host=$work user=postgres dbname=crm" -s "$sock" 2>"$work/bridge.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "crmpubsubd: connected" "$work/bridge.log" && break; sleep 0.1; done

triggers() {	# on|off
	if [ "$1" = on ]; then
		"$bindir/psql" -X -q -c "SELECT crmpubsub.attach('phoenix_kit_crm_interactions', 'phoenix_kit_crm_interaction_parties')" >/dev/null
	else
		"$bindir/psql" -X -q -c "SELECT crmpubsub.detach('phoenix_kit_crm_interactions')" >/dev/null
	fi
}

# tps SCRIPT CLIENTS COMMIT_MODE DOORBELL: one pgbench run; prints "tps
# latency_ms". DOORBELL off silences NOTIFY for the run's sessions.
tps() {
	local opts="-c synchronous_commit=$3"
	[ "$4" = off ] && opts="$opts -c crmpubsub.doorbell=off"
	PGOPTIONS="$opts" "$bindir/pgbench" -n -c "$2" -j "$(($2 < 2 ? 1 : 2))" \
	    -T "$secs" -f "$here/$1" 2>/dev/null |
	    awk '/^tps/ {t = $3} /^latency average/ {l = $4} END {printf "%.0f %.2f\n", t, l}'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
cost() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", (a - b) * 100 / a}'; }

mkdir -p "$out"
report="$out/report.txt"
{
echo "PostgreSQL outbox: $(git -C "$top" log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null || echo unknown), $(nproc) cores, $("$bindir/postgres" --version)"
echo "commits/s (median of $rounds run(s) of $secs s each, configurations in turns; crmpubsub-pg draining):"
echo "  none = no triggers; bell = triggers + NOTIFY doorbell; quiet = triggers, crmpubsub.doorbell = off"
printf '  %-7s %-7s %-14s %7s %7s %7s %7s %7s\n' script clients commit none bell quiet "cost" "cost"
printf '  %-7s %-7s %-14s %7s %7s %7s %7s %7s\n' "" "" "" "" "" "" bell quiet
} | tee "$report"
for combo in "pg_create.sql 1 on" "pg_create.sql 8 on" "pg_edit.sql 8 on" \
    "pg_create.sql 8 off" "pg_edit.sql 8 off"; do
	read -r script clients commit <<<"$combo"
	: >"$work/none"
	: >"$work/bell"
	: >"$work/quiet"
	for _ in $(seq "$rounds"); do
		triggers off
		tps "$script" "$clients" "$commit" on >>"$work/none"
		triggers on
		tps "$script" "$clients" "$commit" on >>"$work/bell"
		tps "$script" "$clients" "$commit" off >>"$work/quiet"
	done
	none=$(cut -d' ' -f1 "$work/none" | median)
	bell=$(cut -d' ' -f1 "$work/bell" | median)
	quiet=$(cut -d' ' -f1 "$work/quiet" | median)
	name=${script%.sql}
	printf '  %-7s %-7s %-14s %7s %7s %7s %7s %7s\n' "${name#pg_}" "$clients" \
	    "synchronous=$commit" "$none" "$bell" "$quiet" "$(cost "$none" "$bell")" \
	    "$(cost "$none" "$quiet")" | tee -a "$report"
done

# latency LABEL: idle, then under an 8-client create load.
contact=c0ffee00-0000-4000-8000-00000000beef
dsn="host=$work user=postgres dbname=crm"
latency_pair() {
	echo "  $1, idle:        $("$latency" "$dsn" "$sock" "$contact" "$samples" 50)" | tee -a "$report"
	PGOPTIONS="-c synchronous_commit=off $2" "$bindir/pgbench" -n -c 8 -j 2 \
	    -T $((secs * 4)) -f "$here/pg_create.sql" >/dev/null 2>&1 &
	load=$!
	sleep 1
	echo "  $1, 8-client load: $("$latency" "$dsn" "$sock" "$contact" "$samples" 50)" | tee -a "$report"
	wait "$load" || true
}
echo "commit -> push latency (samples p50 p90 p99 max ms, lost):" | tee -a "$report"
latency_pair "doorbell" ""
# Doorbell off for the database, the bridge polling every 50 ms instead.
stop_all "${pids[1]}"
"$bindir/psql" -X -q -c "ALTER DATABASE crm SET crmpubsub.doorbell = off"
"$bridge" --dsn "host=$work user=postgres dbname=crm" -s "$sock" \
    --poll-interval 0.05 2>>"$work/bridge.log" &
pids[1]=$!
sleep 1
latency_pair "polling 50 ms" ""
