#!/bin/sh
# SPDX-License-Identifier: MIT — crmpubsub
# Boots a Debian tree under systemd-nspawn with a real systemd as PID 1,
# installs crmpubsub into it the way docs/operations.md says, and checks the
# shipped units end to end; prints one PASS/FAIL line per check.
#
# Usage (as root): tests/systemd/boot-check.sh
#   CRMROOT   the container tree (default /var/tmp/crmroot); made with
#             debootstrap when missing and kept afterwards for the next run
#   CRM_MIRROR  Debian mirror for debootstrap (default: the one apt uses here)
# Needs systemd-nspawn (systemd-container), debootstrap and nsenter. Not part
# of `make check`: booting a container needs privileges CI machines may lack.
# Exit status: 0 all checks passed, 1 a check failed, 2 could not run.

# pass and fail always succeed, so "test && pass || fail" is an if-else here;
# snippets in single quotes are expanded by the container's shell.
# shellcheck disable=SC2015,SC2016,SC2020

set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${CRMROOT:-/var/tmp/crmroot}
MACHINE=crmcheck
SOCK=/run/crmpubsub/crmpubsub.sock
INCLUDE=systemd,systemd-sysv,dbus,procps,socat,libevent-2.1-7,libjansson4,libuuid1,libhiredis0.14
# Contacts and interaction used by the broadcast checks.
CONTACT=0190a5b2-7c1e-7a01-8f00-000000000001
INTERACTION=0190a5b2-7c1e-7a01-8f00-0000000000aa

WORK=$(mktemp -d /tmp/crm-boot-check.XXXXXX) || exit 2
NSPAWN=
LEADER=
boots=0
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
info() { echo "INFO: $*"; }
die()  { echo "boot-check: $*" >&2; exit 2; }

# Runs a command inside the booted container (all its namespaces, a clean
# environment); stdout and stderr pass through.
c() {
	nsenter -t "$LEADER" -m -u -i -n -p -C -- /usr/bin/env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER= \
	    "$@"
}

# Runs a shell snippet inside the container.
cs() { c /bin/sh -c "$1"; }

# Polls a shell snippet inside the container until it succeeds, for at most
# $1 tenths of a second.
await() {
	tries=$1
	while [ "$tries" -gt 0 ]; do
		cs "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# Boots the container in the background and waits (at most 60 s) until its
# systemd reports the boot finished.
boot() {
	boots=$((boots + 1))
	systemd-nspawn -D "$ROOT" -M "$MACHINE" --boot --register=no \
	    --keep-unit --private-network --console=pipe \
	    </dev/null >"$WORK/console.$boots.log" 2>&1 &
	NSPAWN=$!
	LEADER=
	i=0
	while [ -z "$LEADER" ] && [ $i -lt 100 ]; do
		LEADER=$(pgrep -P "$NSPAWN" | head -n 1)
		[ -n "$LEADER" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$LEADER" ] || return 1
	i=0
	while [ $i -lt 600 ]; do
		state=$(c systemctl is-system-running 2>/dev/null)
		case $state in
		running|degraded) return 0 ;;
		esac
		kill -0 "$NSPAWN" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Powers the container off; escalates to signals if it does not go in 30 s.
halt() {
	[ -n "$NSPAWN" ] || return 0
	if kill -0 "$NSPAWN" 2>/dev/null; then
		c systemctl poweroff --no-block >/dev/null 2>&1
		i=0
		while kill -0 "$NSPAWN" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$NSPAWN" 2>/dev/null; then
			kill -TERM "$NSPAWN" 2>/dev/null
			sleep 5
			kill -KILL "$NSPAWN" 2>/dev/null
		fi
	fi
	wait "$NSPAWN" 2>/dev/null
	NSPAWN=
}

cleanup() {
	halt
	if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
		rm -rf "$WORK"
	else
		echo "boot-check: logs kept in $WORK" >&2
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

# The Debian mirror apt is configured with here, read at run time.
mirror() {
	if [ -n "${CRM_MIRROR:-}" ]; then
		echo "$CRM_MIRROR"
		return
	fi
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null |
	    sed -n -e 's/^URIs:[[:space:]]*//p' \
	    -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}//p' |
	    tr ' \t' '\n\n' | grep -E '^https?://.*/debian/?$' | head -n 1
}

# --- preparing the tree ------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "must run as root"
for tool in systemd-nspawn nsenter pgrep; do
	command -v "$tool" >/dev/null || die "$tool missing (apt-get install systemd-container util-linux procps)"
done

if [ ! -x "$ROOT/usr/lib/systemd/systemd" ]; then
	command -v debootstrap >/dev/null || die "debootstrap missing"
	url=$(mirror)
	[ -n "$url" ] || die "no Debian mirror found; set CRM_MIRROR"
	echo "boot-check: creating $ROOT with debootstrap (about a minute)"
	debootstrap --variant=minbase --include="$INCLUDE" bookworm "$ROOT" \
	    "$url" >"$WORK/debootstrap.log" 2>&1 ||
	    die "debootstrap failed, see $WORK/debootstrap.log"
	mkdir -p "$ROOT/var/log/journal"
fi
echo crmroot >"$ROOT/etc/hostname"
# A tree from an earlier run made without procps: ExecReload needs /bin/kill.
if [ ! -x "$ROOT/bin/kill" ]; then
	chroot "$ROOT" apt-get install -y --no-install-recommends procps \
	    >"$WORK/procps.log" 2>&1 || die "cannot add procps to $ROOT"
fi

# Forget what an earlier run left: units, enablement, drop-ins, config, the
# service user and the test users, so this run starts from a clean machine.
make -C "$TOP" -s uninstall DESTDIR="$ROOT" PREFIX=/usr >/dev/null 2>&1
rm -f "$ROOT/etc/crmpubsub/crmpubsubd.conf" \
    "$ROOT/etc/systemd/system/sockets.target.wants/crmpubsubd.socket" \
    "$ROOT/etc/systemd/system/multi-user.target.wants/crmpubsubd.service" \
    "$ROOT/etc/systemd/system/crmpubsubd-direct.service"
rm -rf "$ROOT/etc/systemd/system/crmpubsubd.service.d"
for f in passwd group shadow gshadow; do
	[ -f "$ROOT/etc/$f" ] &&
	    sed -i -E '/^(crmpubsub|crmapp|crmother|crmapps):/d' "$ROOT/etc/$f"
done

# --- first boot: install on the running machine, as an operator would -------

boot || die "container did not boot; console log: $WORK/console.1.log"
[ "$(cs 'cat /proc/1/comm')" = systemd ] &&
    pass "systemd is PID 1 in the container" ||
    fail "systemd is not PID 1 in the container"

if make -C "$TOP" install DESTDIR="$ROOT" PREFIX=/usr >"$WORK/install.log" 2>&1
then
	pass "make install DESTDIR=$ROOT PREFIX=/usr"
else
	fail "make install (see $WORK/install.log)"
	exit 1
fi

# --man=no: the container has no man(1); tests/it_install.c lints the pages.
out=$(cs 'systemd-analyze verify --man=no crmpubsubd.socket crmpubsubd.service 2>&1')
[ -z "$out" ] && pass "systemd-analyze verify: clean" ||
    fail "systemd-analyze verify: $out"
info "$(cs 'systemd-analyze security --no-pager crmpubsubd.service 2>/dev/null | tail -n 1')"

cs 'systemd-sysusers crmpubsub.conf' >"$WORK/sysusers.log" 2>&1 &&
    [ "$(cs 'id -un crmpubsub; id -gn crmpubsub' | tr '\n' ' ')" = "crmpubsub crmpubsub " ] &&
    pass "systemd-sysusers creates user and group crmpubsub" ||
    fail "systemd-sysusers: $(cat "$WORK/sysusers.log")"

cs 'systemd-tmpfiles --create crmpubsub.conf' >"$WORK/tmpfiles.log" 2>&1 &&
    [ "$(cs 'stat -c "%a %U %G" /run/crmpubsub')" = "755 crmpubsub crmpubsub" ] &&
    pass "systemd-tmpfiles makes /run/crmpubsub 0755 crmpubsub:crmpubsub" ||
    fail "systemd-tmpfiles: $(cat "$WORK/tmpfiles.log"; cs 'stat -c "%a %U %G" /run/crmpubsub')"

cs 'systemctl daemon-reload && systemctl enable --now crmpubsubd.socket' \
    >"$WORK/enable.log" 2>&1 &&
    pass "systemctl enable --now crmpubsubd.socket" ||
    fail "enable --now crmpubsubd.socket: $(cat "$WORK/enable.log")"

got=$(cs "stat -c '%F %a %U %G' $SOCK" 2>&1)
[ "$got" = "socket 660 crmpubsub crmpubsub" ] &&
    pass "socket file: $got" || fail "socket file: $got"
state=$(cs 'systemctl is-active crmpubsubd.service')
[ "$state" = inactive ] &&
    pass "service not started before the first client" ||
    fail "service is $state before the first client"

# Socket activation: the first connection starts the Type=notify service.
out=$(cs 'crmpubsub-cli stats' 2>&1)
case $out in
*'"ok":true,"op":"stats"'*) pass "crmpubsub-cli stats activates the service" ;;
*) fail "crmpubsub-cli stats: $out" ;;
esac
got=$(cs 'for p in ActiveState SubState Result; do
    systemctl show -p $p --value crmpubsubd.service; done' | tr '\n' ' ')
[ "$got" = "active running success " ] &&
    pass "systemctl status: active (running)" ||
    fail "service state after activation: $got"
cs 'systemctl status --no-pager crmpubsubd.service' >"$WORK/status.log" 2>&1

# The sandbox is really applied to the running daemon.
pid=$(cs 'systemctl show -p MainPID --value crmpubsubd.service')
st=$(cs "grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/$pid/status" |
    tr -s '\t ' ' ' | tr '\n' ';')
case $st in
*"NoNewPrivs: 1;"*"Seccomp: 2;"*) pass "daemon runs with NoNewPrivs and a seccomp filter" ;;
*) fail "daemon sandbox: $st" ;;
esac
case $st in
*"CapEff: 0000000000000000;CapBnd: 0000000000000000;"*) pass "daemon holds no capability" ;;
*) fail "daemon capabilities: $st" ;;
esac
uid=$(cs 'id -u crmpubsub')
case $st in
"Uid: $uid $uid $uid $uid;"*) pass "daemon runs as user crmpubsub" ;;
*) fail "daemon identity: $st" ;;
esac
lim=$(cs "grep 'Max open files' /proc/$pid/limits" | tr -s ' ')
[ "$lim" = "Max open files 16384 16384 files " ] &&
    pass "LimitNOFILE=16384 applied" || fail "open files limit: $lim"
nm=$(cs "readlink /proc/$pid/ns/net; readlink /proc/1/ns/net" | sort -u | wc -l)
[ "$nm" -eq 2 ] && pass "daemon has its own network namespace (PrivateNetwork)" ||
    fail "daemon shares PID 1's network namespace"

# Group membership decides who may connect.
cs 'useradd -M -N -s /usr/sbin/nologin -G crmpubsub crmapp &&
    useradd -M -N -s /usr/sbin/nologin crmother' >/dev/null 2>&1
out=$(cs 'setpriv --reuid=crmapp --regid=users --init-groups crmpubsub-cli ping' 2>&1)
case $out in
*'"ok":true'*) pass "a member of group crmpubsub can connect" ;;
*) fail "member of crmpubsub: $out" ;;
esac
out=$(cs 'setpriv --reuid=crmother --regid=users --init-groups crmpubsub-cli ping; echo "exit=$?"' 2>&1)
case $out in
*"Permission denied"*"exit=3") pass "a non-member is refused (exit 3, Permission denied)" ;;
*) fail "non-member: $out" ;;
esac

# Reload (SIGHUP) applies the publish ACL without a restart.
cs "printf '\\npublish_uids = 4242\\n' >> /etc/crmpubsub/crmpubsubd.conf"
if cs 'systemctl reload crmpubsubd.service' >"$WORK/reload.log" 2>&1; then
	pass "systemctl reload crmpubsubd"
else
	fail "systemctl reload: $(cat "$WORK/reload.log"; cs 'journalctl -b -u crmpubsubd -n 5 --no-pager -o cat')"
fi
bcast="crmpubsub-cli broadcast updated $INTERACTION $CONTACT"
await 50 "$bcast >/dev/null 2>&1; [ \$? -eq 1 ]" &&
    pass "after reload root may no longer broadcast (publish_uids)" ||
    fail "publish_uids not applied by reload: $(cs "$bcast" 2>&1)"
[ "$(cs 'systemctl show -p MainPID --value crmpubsubd.service')" = "$pid" ] &&
    pass "reload kept the same process" || fail "reload replaced the process"
cp "$TOP/systemd/crmpubsubd.conf" "$ROOT/etc/crmpubsub/crmpubsubd.conf"
cs 'systemctl reload crmpubsubd.service' >/dev/null 2>&1
await 50 "$bcast >/dev/null 2>&1" &&
    pass "after restoring the config and reloading, broadcast works again" ||
    fail "broadcast after restoring the config: $(cs "$bcast" 2>&1)"

# Stop under socket activation: the socket file must survive (the
# RuntimeDirectory trap), and the next client starts the service again.
ino=$(cs "stat -c %i $SOCK")
cs 'systemctl stop crmpubsubd.service' >/dev/null 2>&1
got=$(cs 'systemctl is-active crmpubsubd.service crmpubsubd.socket' | tr '\n' ' ')
[ "$got" = "inactive active " ] &&
    pass "stop: service inactive, socket still listening" ||
    fail "after stop: service/socket are $got"
[ "$(cs "stat -c %i $SOCK" 2>&1)" = "$ino" ] &&
    pass "stop: socket file kept (RuntimeDirectoryPreserve=yes)" ||
    fail "stop: socket file gone or replaced: $(cs "ls -la /run/crmpubsub" 2>&1)"
out=$(cs 'crmpubsub-cli stats' 2>&1)
pid2=$(cs 'systemctl show -p MainPID --value crmpubsubd.service')
case $out in
*'"ok":true'*)
	[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] &&
	    pass "next client re-activates the service (new pid $pid2)" ||
	    fail "re-activation: pid $pid2" ;;
*) fail "connect after stop: $out" ;;
esac

cs 'systemctl restart crmpubsubd.service' >/dev/null 2>&1
out=$(cs 'crmpubsub-cli ping' 2>&1)
case $out in
*'"ok":true'*) pass "systemctl restart crmpubsubd.service, then ping" ;;
*) fail "ping after service restart: $out" ;;
esac

if cs 'systemctl restart crmpubsubd.socket' >"$WORK/sockrestart.log" 2>&1; then
	out=$(cs 'crmpubsub-cli ping' 2>&1)
	case $out in
	*'"ok":true'*) pass "systemctl restart crmpubsubd.socket, then ping" ;;
	*) fail "ping after socket restart: $out" ;;
	esac
else
	fail "restart crmpubsubd.socket: $(cat "$WORK/sockrestart.log")"
fi

n=$(cs 'systemctl show -p NRestarts --value crmpubsubd.service')
[ "$n" = 0 ] && pass "no crash restarts (NRestarts=0)" ||
    fail "service restarted itself $n times"
cs 'journalctl -b --no-pager -o short-monotonic -u crmpubsubd.service -u crmpubsubd.socket' \
    >"$WORK/journal.log" 2>&1
bad=$(grep -E -i 'seccomp|SIGSYS|status=(31|2[0-9][0-9])/|not permitted|permission denied|namespace|failed|error' \
    "$WORK/journal.log")
[ -z "$bad" ] && pass "journal of both units: no errors ($(wc -l <"$WORK/journal.log") lines)" ||
    fail "journal: $bad"

# The daemon binding the socket itself with socket_group, under the same
# sandbox (a copy of the unit without the socket unit): chown(2) must pass
# the system call filter.
cs 'getent group crmapps >/dev/null || groupadd -r crmapps'
sed -e '/^Requires=crmpubsubd.socket/d' -e '/^After=crmpubsubd.socket/d' \
    -e '/^Also=/d' -e 's/^RuntimeDirectory=crmpubsub$/RuntimeDirectory=crmpubsub-direct/' \
    -e 's|^ExecStart=.*|& -s /run/crmpubsub-direct/crmpubsub.sock --socket-group crmapps\nSupplementaryGroups=crmapps|' \
    "$ROOT/usr/lib/systemd/system/crmpubsubd.service" \
    >"$ROOT/etc/systemd/system/crmpubsubd-direct.service"
if cs 'systemctl daemon-reload && systemctl start crmpubsubd-direct.service' \
    >"$WORK/direct.log" 2>&1; then
	got=$(cs 'stat -c "%F %a %G" /run/crmpubsub-direct/crmpubsub.sock' 2>&1)
	[ "$got" = "socket 660 crmapps" ] &&
	    pass "daemon binding itself: socket_group=crmapps applied under the filter" ||
	    fail "self-bound socket: $got"
	out=$(cs 'crmpubsub-cli -s /run/crmpubsub-direct/crmpubsub.sock ping' 2>&1)
	case $out in
	*'"ok":true'*) pass "self-bound socket answers" ;;
	*) fail "self-bound socket: $out" ;;
	esac
else
	fail "crmpubsubd-direct.service: $(cat "$WORK/direct.log"; cs 'journalctl -b -u crmpubsubd-direct -n 5 --no-pager -o cat')"
fi
cs 'systemctl stop crmpubsubd-direct.service; rm -f /etc/systemd/system/crmpubsubd-direct.service; systemctl daemon-reload' >/dev/null 2>&1

# Control: without RuntimeDirectoryPreserve=yes the trap is real here, so the
# "socket file kept" check above can fail.
mkdir -p "$ROOT/etc/systemd/system/crmpubsubd.service.d"
printf '[Service]\nRuntimeDirectoryPreserve=no\n' \
    >"$ROOT/etc/systemd/system/crmpubsubd.service.d/trap.conf"
cs 'systemctl daemon-reload; crmpubsub-cli ping; systemctl stop crmpubsubd.service' >/dev/null 2>&1
out=$(cs 'crmpubsub-cli ping; echo "exit=$?"' 2>&1)
case $out in
*"exit=3") pass "control: with RuntimeDirectoryPreserve=no a stop loses the socket (exit 3)" ;;
*) fail "control: trap not reproduced: $out" ;;
esac
rm -rf "$ROOT/etc/systemd/system/crmpubsubd.service.d"
cs 'systemctl daemon-reload; systemctl restart crmpubsubd.socket' >/dev/null 2>&1

# --- second boot: everything comes up by itself ------------------------------

halt
boot || { fail "second boot; console log: $WORK/console.2.log"; exit 1; }
got=$(cs "systemctl is-active crmpubsubd.socket; stat -c '%a %U' /run/crmpubsub; stat -c %F $SOCK" 2>&1 | tr '\n' ' ')
[ "$got" = "active 755 crmpubsub socket " ] &&
    pass "after reboot: socket listening, /run/crmpubsub from tmpfiles.d" ||
    fail "after reboot: $got"
out=$(cs 'crmpubsub-cli stats' 2>&1)
case $out in
*'"ok":true,"op":"stats"'*) pass "after reboot: crmpubsub-cli stats" ;;
*) fail "after reboot: stats: $out" ;;
esac
failed_units=$(cs 'systemctl list-units --failed --plain --no-legend' 2>&1)
[ -z "$failed_units" ] && pass "no failed units in the container" ||
    fail "failed units: $failed_units"
cs 'systemctl disable --now crmpubsubd.socket crmpubsubd.service' >/dev/null 2>&1
halt

echo "boot-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
