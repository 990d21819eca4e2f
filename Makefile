# UrbanPulse: `make demo` and `make test` set everything up on a machine with Python 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
WEB    := dashboard/web
PAGE   := dashboard/static/index.html
export URBANPULSE_HOME ?= $(CURDIR)/urbanpulse-home

.PHONY: demo test fuzz bench bench-batch bench-models bench-participation bench-sensors bench-live bench-live-votes bench-live-sensors bench-dashboard bench-dask bench-open311 cluster flows install clean

install: $(STAMP) $(PAGE)

$(STAMP): pyproject.toml
	@echo "-> creating $(VENV) and installing UrbanPulse with its dependencies (first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --progress-bar off -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# the dashboard page: npm packages from the committed lockfile, built into dashboard/static
$(PAGE): $(STAMP) $(WEB)/package-lock.json $(WEB)/build.mjs $(wildcard $(WEB)/src/*)
	@echo "-> building the dashboard page (npm ci && npm run build in $(WEB))"
	@cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

demo: $(STAMP) $(PAGE)
	$(VENV)/bin/urbanpulse demo $(DEMO_ARGS)

# the suites that read and write the live store, once more against a real PostgreSQL server
# (Debian's package, installed by the tests when missing, a cluster in a temporary folder)
SERVER_STORE_TESTS := tests/dashboard/test_feed*.py tests/dashboard/test_open311_server.py tests/pipelines/live

test: $(STAMP) $(PAGE)
	$(PY) -m pytest -q
	$(PY) -m pytest -q --live-store=postgresql $(SERVER_STORE_TESTS)

# the fuzz suite at full budget (10,000 examples per test; `make test` runs it at 100)
fuzz: $(STAMP)
	URBANPULSE_FUZZ=full $(PY) -m pytest -q tests/fuzz --hypothesis-show-statistics $(FUZZ_ARGS)

# everything but the live benchmark (which takes over the machine for about ten minutes)
bench: bench-batch bench-models bench-participation

bench-batch: $(STAMP)
	$(PY) -m bench.batch $(BENCH_ARGS)

bench-models: $(STAMP)
	$(PY) -m bench.classifier
	$(PY) -m bench.geocode
	$(PY) -m bench.pii

bench-participation: $(STAMP)
	$(PY) -m bench.participation $(BENCH_ARGS)

bench-sensors: $(STAMP)
	$(PY) -m bench.sensors $(BENCH_ARGS)

bench-live: $(STAMP)
	$(PY) -m bench.live $(BENCH_ARGS)

# ballots landed at 2,000/s for 60 s into an open vote: landed -> feed latency (about two minutes)
bench-live-votes: $(STAMP)
	$(PY) -m bench.live_votes $(BENCH_ARGS)

bench-live-sensors: $(STAMP)
	$(PY) -m bench.live_sensors $(BENCH_ARGS)

# a Dask scheduler and workers as separate processes, for `ingest ... --runner=DaskRunner --dask_address=127.0.0.1:8786`
cluster: $(STAMP)
	$(VENV)/bin/urbanpulse cluster start $(CLUSTER_ARGS)

# a local Prefect server (SQLite) and every scheduled deployment, until Ctrl-C
flows: $(STAMP)
	$(VENV)/bin/urbanpulse serve-flows $(FLOWS_ARGS)

# FnApiRunner beside a 2-worker Dask cluster on the same 1M-row feed
bench-dask: $(STAMP)
	$(PY) -m bench.dask_batch $(BENCH_ARGS)

# concurrent Open311 POSTs while the stream runs, then with the stream started afterwards (the
# intake alone): accepted reports/s, response times, every report landed
bench-open311: $(STAMP)
	$(PY) -m bench.open311_posts --stream during $(BENCH_ARGS)
	$(PY) -m bench.open311_posts --stream after $(BENCH_ARGS)

# the dashboard page of the demo city in headless Chromium: paint, bytes, 100 stream updates/s
bench-dashboard: $(STAMP) $(PAGE)
	$(PY) -m bench.dashboard_page $(BENCH_ARGS)

clean:
	rm -rf $(VENV) urbanpulse-home bench/out
