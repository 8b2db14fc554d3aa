# The two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the tests and the demo use: two real servers (Prosody with prosody-modules, ejabberd) and a
# second, independent XMPP client.
APT_PACKAGES := prosody prosody-modules ejabberd python3-slixmpp postgresql chromium

.PHONY: help deps system-deps build test test-types test-unit test-integration test-reliability test-e2e bench demo screenshots clean

help:
	@echo "make demo   start a private Prosody with the bundled components and print where to go"
	@echo "make test   run every test: unit, integration against real Prosody and ejabberd, reliability, browser end-to-end"
	@echo "make bench  run the benchmarks and write bench/REPORT.md"
	@echo "make screenshots  drive the pages in chromium and write the pictures the pages' READMEs show"

deps: system-deps node_modules/.package-lock.json

# Installs the Debian packages that are missing (as root; otherwise says what to install).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Missing Debian packages:$$missing. Install them: sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# npm ci from the committed lockfile (the framework and the workspaces components/*), again whenever it changes.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

# The bundled components, each its own package (@annex/<name>, components/<name>/package.json).
COMPONENT_PACKAGES := $(sort $(dir $(wildcard components/*/package.json)))

# The framework and everything under test into dist/; then each component package into its own dist/
# against the framework's declarations (node_modules/annex is the workspace's link to this folder), as a
# user's build would see them; the CLI runs "type": "feed" from the package @annex/feed.
build: node_modules/.package-lock.json
	rm -rf dist $(addsuffix dist,$(COMPONENT_PACKAGES))
	node_modules/.bin/tsc -p tsconfig.json
	printf '%s\n' $(COMPONENT_PACKAGES) | xargs -P 4 -I{} node_modules/.bin/tsc -p {}
	node scripts/build-web.mjs dist/web

# Node 20's runner takes files, not globs: list the compiled *.test.js files of each suite.
UNIT_TESTS = $$(find dist/test/unit dist/components dist/examples -name '*.test.js' | sort)
INTEGRATION_TESTS = $$(find dist/test/integration -name '*.test.js' | sort)
RELIABILITY_TESTS = $$(find dist/test/reliability -name '*.test.js' | sort)
E2E_TESTS = $$(find dist/test/e2e -name '*.test.js' | sort)
# The benchmark harness's own tests (plain .mjs: they run as written).
BENCH_TESTS = $$(find bench/test -name '*.test.mjs' | sort)

# The spec output, and one summary line per XMPP server for the tests that run on both.
REPORTERS = --test-reporter=spec --test-reporter-destination=stdout --test-reporter=./scripts/server-summary-reporter.mjs --test-reporter-destination=stdout

# The shipped declarations as a user's project sees them (strict, skipLibCheck false): test/types/consumer.
test-types: build
	node_modules/.bin/tsc -p test/types/consumer

test: deps build test-types
	node --test $(REPORTERS) $(UNIT_TESTS) $(BENCH_TESTS) $(INTEGRATION_TESTS) $(RELIABILITY_TESTS) $(E2E_TESTS)

test-unit: node_modules/.package-lock.json build test-types
	node --test --test-reporter=spec $(UNIT_TESTS)

test-integration: deps build
	node --test $(REPORTERS) $(INTEGRATION_TESTS)

test-reliability: deps build
	node --test --test-reporter=spec $(RELIABILITY_TESTS)

test-e2e: deps build
	node --test --test-reporter=spec $(E2E_TESTS)

# Benchmarks write bench/REPORT.md and bench/results/*.json (about 8 minutes; see bench/README.md).
bench: deps build
	node bench/run.mjs

# Fixed ports for bookmarks: make demo ANNEX_DEMO_HTTP_PORT=5280 (also ANNEX_DEMO_C2S_PORT, ANNEX_DEMO_COMPONENT_PORT).
demo: deps build
	node dist/bin/demo.js

# The READMEs' pictures, taken by the browser tests that play and watch (lobby, a game with names, game
# over with rematch, the feed's time window): nothing is drawn by hand.
SCREENSHOT_DIR := docs/screenshots
screenshots: deps build
	mkdir -p $(SCREENSHOT_DIR)
	ANNEX_SCREENSHOTS_DIR=$(CURDIR)/$(SCREENSHOT_DIR) node --test --test-reporter=spec dist/test/e2e/pong-lobby.test.js dist/test/e2e/feed.test.js
	@ls $(SCREENSHOT_DIR)

clean:
	rm -rf dist .annex
