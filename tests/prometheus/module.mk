# tests/prometheus: the example alerts (docs/alerts.yml) through promtool,
# and Debian's prometheus scraping a real daemon with them loaded, directly
# and through node_exporter's textfile collector (run.py says what it
# checks). It runs once, not per build: it is not about the daemon's
# memory safety, which the C suites cover plain and under ASan.
MODULE_CHECKS += check-prometheus

check-prometheus:
	@tests/suite.sh prometheus --need "promtool prometheus \
	    prometheus-node-exporter redis-server socat jq $(PYTHON)" \
	  --timeout 300 -- $(PYTHON) tests/prometheus/run.py $(CURDIR)
.PHONY: check-prometheus
