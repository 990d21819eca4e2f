# UrbanPulse: `make demo` and `make test` set everything up on a machine with Python 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export URBANPULSE_HOME ?= $(CURDIR)/urbanpulse-home

.PHONY: demo test fuzz bench bench-batch bench-models bench-participation bench-sensors bench-live bench-live-votes bench-live-sensors install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "-> creating $(VENV) and installing UrbanPulse with its dependencies (first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --progress-bar off -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/urbanpulse demo $(DEMO_ARGS)

test: $(STAMP)
	$(PY) -m pytest -q

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

clean:
	rm -rf $(VENV) urbanpulse-home bench/out
