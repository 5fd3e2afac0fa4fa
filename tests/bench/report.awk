# SPDX-License-Identifier: MIT — crmpubsub
# Turns the benchmark's RESULT lines into markdown tables (medians over
# rounds, paired per-round ratios crmpubsubd/peer), the target verdicts and
# the plot data (written to the file named by -v plotdat). The peer is
# Redis unless -v peer=floor (the bench's minimal relay, tests/bench/relay.c).
# POSIX awk (mawk).

function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2)
		return a[(n + 1) / 2] + 0
	return (a[n / 2] + a[n / 2 + 1]) / 2
}

# Median over rounds of metric m for workload w and target t.
function med(w, t, m) {
	return median(vals[w, t, m])
}

# Median over rounds of the per-round ratio crm/redis of metric m.
function ratio(w, m,    r, list, a, b) {
	list = ""
	for (r = 1; r <= maxround; r++) {
		if (!(((w, "crm", m, r) in v) && ((w, peer, m, r) in v)))
			continue
		a = v[w, "crm", m, r] + 0
		b = v[w, peer, m, r] + 0
		if (b > 0)
			list = list " " a / b
	}
	return median(list)
}

# Ratio of the medians over rounds of metric m, crm/redis.
function medratio(w, m,    a, b) {
	a = med(w, "crm", m)
	b = med(w, peer, m)
	return (a == "" || b == "" || b + 0 == 0) ? "" : a / b
}

# Metric m of every round of target t, sorted, as "x, y, z".
function sorted(w, t, m,    n, a, i, j, x, out) {
	n = split(vals[w, t, m], a, " ")
	for (i = 2; i <= n; i++) {
		x = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > x; j--)
			a[j + 1] = a[j]
		a[j + 1] = x
	}
	out = ""
	for (i = 1; i <= n; i++)
		out = out (i > 1 ? ", " : "") sprintf("%.0f", a[i])
	return out
}

function fmt(x, digits) {
	if (x == "")
		return "–"
	if (digits == "")
		digits = 0
	return sprintf("%." digits "f", x)
}

function fmtratio(x) {
	return x == "" ? "–" : sprintf("%.2f×", x)
}

function row(label, w, m, digits, noratio,    c, r) {
	c = med(w, "crm", m)
	r = med(w, peer, m)
	printf "| %s | %s | %s | %s |\n", label, fmt(c, digits), fmt(r, digits),
	    noratio ? "" : fmtratio(ratio(w, m))
}

function saturated(w, t,    g) {
	g = med(w, t, "gen_cpu")
	if (g == "")
		return "–"
	return g >= 0.9 ? "**yes**" : "no"
}

function checks(w, t) {
	if (!((w, t) in runs))
		return "–"
	return (runs[w, t] - bad[w, t]) "/" runs[w, t] " ok"
}

# verdict(text, measured, value, limit, ">=" or "<=")
function verdict(text, shown, x, limit, dir, note,    v2) {
	if (x == "")
		v2 = "not measured"
	else if ((dir == ">=" && x >= limit) || (dir == "<=" && x <= limit))
		v2 = "**met**"
	else
		v2 = "**missed**"
	printf "| %s | %s | %s%s |\n", text, shown, v2, note
}

function gen_note(w,    g) {
	g = med(w, "crm", "gen_cpu")
	if (g != "" && g >= 0.9)
		return sprintf(" (generator at %.2f cores: saturated, so this ratio is a lower bound)", g)
	return ""
}

BEGIN {
	if (peer == "")
		peer = "redis"
	pname = peer == "redis" ? "Redis" : peer == "floor" ? "floor relay" : peer
}

$1 == "WORKLOAD" {
	name = $2
	order[++nw] = name
	plot[name] = $3
	d = $4
	for (i = 5; i <= NF; i++)
		d = d " " $i
	desc[name] = d
	next
}

$1 == "HICCUP" {
	split("", kv)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	hiccup[++nh] = sprintf("| %s | %s | %s | %s | %s | %s%% |", kv["label"],
	    kv["over50us_per_s"], kv["over200us_per_s"], kv["over1ms_per_s"],
	    kv["max_us"], kv["lost_pct"])
	next
}

$1 == "RESULT" {
	split("", kv)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	split(kv["label"], lr, ":")
	w = lr[1]; r = lr[2] + 0; t = kv["target"]
	if (r > maxround)
		maxround = r
	mode[w] = kv["mode"]
	runs[w, t]++
	if (kv["check"] != "ok")
		bad[w, t]++
	if (kv["srv_cpu"] + 0 > 0)
		kv["dps_per_cpu"] = kv["dps"] / kv["srv_cpu"]
	for (k in kv) {
		if (k == "label" || k == "target" || k == "mode" || k == "check")
			continue
		v[w, t, k, r] = kv[k]
		vals[w, t, k] = vals[w, t, k] " " kv[k]
	}
	next
}

END {
	printf "## Results\n\n"
	printf "Medians over %d round(s); the ratio column is the median of the per-round\n", maxround
	printf "ratios crmpubsubd/%s. In every round both servers run side by side, their\n", pname
	printf "generators taking turns (200 ms closed loop, 100 ms open loop); rates and\n"
	printf "CPU are per second of each server's own turns. Memory runs them in turn.\n"
	if (nh > 0) {
		printf "\n### The machine's own hiccups\n\n"
		printf "A thread spinning on each idle core (tests/bench/hiccup.c), before any\n"
		printf "load: how often it did not run, per second, and the share of time lost.\n\n"
		printf "| core | gaps > 50 µs/s | > 200 µs/s | > 1 ms/s | longest (µs) | time lost |\n"
		printf "|---|---:|---:|---:|---:|---:|\n"
		for (i = 1; i <= nh; i++)
			print hiccup[i]
	}
	for (i = 1; i <= nw; i++) {
		w = order[i]
		printf "\n### %s — %s\n\n", w, desc[w]
		printf "| metric | crmpubsubd | %s | crmpubsubd/%s |\n", pname, pname
		printf "|---|---:|---:|---:|\n"
		if (mode[w] == "idle") {
			row("server RSS, no subscribers (KiB)", w, "rss0_kb")
			row("server RSS, all subscribed (KiB)", w, "rss1_kb")
			row("RSS per idle subscriber (bytes)", w, "per_conn_b")
		} else {
			row("broadcasts/s", w, "bps")
			row("deliveries/s", w, "dps")
			row("latency p50 (µs)", w, "p50_us", 1)
			row("latency p99 (µs)", w, "p99_us", 1)
			row("latency p99.9 (µs)", w, "p999_us", 1)
			row("server CPU (cores)", w, "srv_cpu", 2)
			row("deliveries per server CPU-second", w, "dps_per_cpu")
			row("server RSS (KiB)", w, "srv_rss_kb")
			row("generator CPU (cores)", w, "gen_cpu", 2)
			printf "| generator saturated (≥ 0.9 core)? | %s | %s | |\n",
			    saturated(w, "crm"), saturated(w, peer)
			if (mode[w] == "open")
				row("broadcasts held back by the window", w, "late", 0, 1)
		}
		printf "| correctness checks | %s | %s | |\n", checks(w, "crm"), checks(w, peer)
		if (mode[w] == "open" && maxround > 1) {
			printf "\np99 of every round (µs), sorted: crmpubsubd %s; %s %s.\n",
			    sorted(w, "crm", "p99_us"), pname, sorted(w, peer, "p99_us")
			printf "Ratio of the medians: p50 %s, p99 %s, p99.9 %s.\n",
			    fmtratio(medratio(w, "p50_us")), fmtratio(medratio(w, "p99_us")),
			    fmtratio(medratio(w, "p999_us"))
		}
	}

	if (peer != "redis")
		exit
	printf "\n### Targets\n\n"
	printf "| target | measured | verdict |\n|---|---|---|\n"
	if ("w64" in desc) {
		x = ratio("w64", "dps")
		verdict("S=1000 window 64: deliveries/s ≥ 1.4× Redis", fmtratio(x), x, 1.4, ">=", gen_note("w64"))
	}
	if ("w1024" in desc) {
		x = ratio("w1024", "dps")
		verdict("S=1000 window 1024: deliveries/s ≥ 3× Redis", fmtratio(x), x, 3, ">=", gen_note("w1024"))
	}
	if ("s10k" in desc) {
		x = ratio("s10k", "dps")
		verdict("S=10000 window 64: deliveries/s ≥ 1.2× Redis", fmtratio(x), x, 1.2, ">=", gen_note("s10k"))
	}
	if ("open20k" in desc) {
		# Both statistics must meet it: a tail decided by the machine's
		# hiccups makes either one alone fragile.
		x = ratio("open20k", "p99_us")
		y = medratio("open20k", "p99_us")
		verdict("20000 broadcasts/s: p99 ≤ 0.6× Redis",
		    sprintf("%s (median of paired ratios); %s (ratio of medians)",
		    fmtratio(x), fmtratio(y)), (x == "" || y == "") ? "" : (x > y ? x : y),
		    0.6, "<=", "")
		x = ratio("open20k", "srv_cpu")
		verdict("20000 broadcasts/s: server CPU ≤ 0.85× Redis", fmtratio(x), x, 0.85, "<=", "")
	}
	if ("idle" in desc) {
		x = med("idle", "crm", "per_conn_b")
		y = med("idle", peer, "per_conn_b")
		verdict("idle subscriber ≤ 1 KiB daemon RSS",
		    sprintf("%s B (Redis %s B)", fmt(x), fmt(y)), x, 1024, "<=", "")
	}

	# Plot data: closed-loop deliveries/s and open-loop p99 against S.
	ns = 0
	for (i = 1; i <= nw; i++) {
		w = order[i]
		if (split(plot[w], pp, ":") != 2)
			continue
		s = pp[2] + 0
		if (!(s in hasS)) {
			hasS[s] = 1
			sl[++ns] = s
		}
		if (pp[1] == "closed") {
			cd[s] = med(w, "crm", "dps"); rd[s] = med(w, peer, "dps")
			ce[s] = med(w, "crm", "dps_per_cpu"); re[s] = med(w, peer, "dps_per_cpu")
		} else {
			cp[s] = med(w, "crm", "p99_us"); rp[s] = med(w, peer, "p99_us")
		}
	}
	for (i = 2; i <= ns; i++) {
		t = sl[i]
		for (j = i - 1; j >= 1 && sl[j] > t; j--)
			sl[j + 1] = sl[j]
		sl[j + 1] = t
	}
	if (ns > 0 && plotdat != "") {
		print "# S crm_dps redis_dps crm_p99_us redis_p99_us crm_dps_per_cpu redis_dps_per_cpu" > plotdat
		for (i = 1; i <= ns; i++) {
			s = sl[i]
			printf "%d %s %s %s %s %s %s\n", s,
			    (s in cd) && cd[s] != "" ? cd[s] : "?",
			    (s in rd) && rd[s] != "" ? rd[s] : "?",
			    (s in cp) && cp[s] != "" ? cp[s] : "?",
			    (s in rp) && rp[s] != "" ? rp[s] : "?",
			    (s in ce) && ce[s] != "" ? ce[s] : "?",
			    (s in re) && re[s] != "" ? re[s] : "?" > plotdat
		}
		close(plotdat)
	}
}
