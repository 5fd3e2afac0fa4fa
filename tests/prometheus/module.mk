# tests/prometheus: the example alerts (docs/alerts.yml) through promtool,
# and Debian's prometheus scraping a real daemon with them loaded (run.py
# says what it checks). Once, not per build: nothing in it is about the
# daemon's memory safety, which the C suites cover plain and under ASan.
MODULE_CHECKS += check-prometheus

check-prometheus:
	@tests/suite.sh prometheus --need "promtool prometheus redis-server $(PYTHON)" \
	  --timeout 300 -- $(PYTHON) tests/prometheus/run.py $(CURDIR)
.PHONY: check-prometheus
