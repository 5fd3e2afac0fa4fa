# The browser test: Debian's chromium, headless, driven through
# chromedriver by python3-selenium, opens contact pages of the feed
# application (client/examples/feed-web) in three windows and checks what
# they show while interactions change and the daemon restarts.
# Screenshots of each run go to build/browser/.
MODULE_CHECKS += check-browser
.PHONY: check-browser

check-browser: all
	@tests/suite.sh browser --need "$(PYTHON) chromium chromedriver" \
	  --timeout 300 -- \
	  client/examples/feed-web/tests/run.sh browser $(PYTHON) $(abspath $(DAEMON)) \
	  $(abspath $(LIB_SO)) "pytest selenium" tests/browser
