# Two entry points, as the README says: `make run` and `make test`.
# Everything installs into .venv with the exact versions in constraints.txt.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run optimize-demo test lint typecheck unit sim clean rehearse rehearse-ci soak

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tradd needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The main job on the embedded default: the supervisor with the shipped strategies
# (etc/tradd.toml) trading the embedded IB simulator on the sample data, one simulated
# minute per second, and the web console beside it on http://127.0.0.1:8080/ (on a fresh
# state it prints the admin's generated password once). Watch with `.venv/bin/tradctl
# status` and http://127.0.0.1:9464/metrics; Ctrl-C stops everything cleanly.
run: $(STAMP)
	$(BIN)/tradd run --config etc/tradd.toml --simulate --speed 60 --web

# The research demo: a grid optimization of the SMA cross strategy on GOOG daily bars.
optimize-demo: $(STAMP)
	$(BIN)/tradd optimize --config etc/tradd.toml \
	    --strategy strategies.sma_cross.SmaCross --symbols GOOG \
	    --start 2005-01-01 --end 2012-12-31 --method grid \
	    --params-file etc/optimize/sma_cross.toml --objective sharpe \
	    --output results/demo

# lint-imports: the layers of docs/architecture.md ([tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck unit

# Every benchmark is a module of the bench package, run as `python -m bench.NAME` from the
# checkout (never as a script: bench/ would come first on sys.path and could hide a package;
# tests/bench/test_layout.py holds every target to this). BENCHES lists them in the order
# `make bench` and `make bench-tiny` run them; a new one is a line here plus its target.
BENCHES := optimize kernel simgw worker daemon alerts walkforward scan web
BENCH_TARGETS := $(addprefix bench-,$(BENCHES))
.PHONY: bench bench-tiny $(BENCH_TARGETS)

bench: $(BENCH_TARGETS)

# Every benchmark's tiny mode in a row (each a few seconds; what tests/bench runs in CI):
# the whole path of each bench, figures that mean nothing, results in bench/results/tiny/.
bench-tiny: $(STAMP)
	set -e; for name in $(BENCHES); do echo "== bench.$${name}_bench --tiny"; \
	    $(BIN)/python -m bench.$${name}_bench --tiny; done

bench-optimize: $(STAMP)
	$(BIN)/python -m bench.optimize_bench

# The two-stage search: a 10,000-combination grid screened by the kernel and its top 20
# confirmed in Backtrader, against plain optstrategy; the 174-combination grid with and
# without the kernel; 100 Bayesian trials; the screen's peak memory (docs/kernels.md).
bench-kernel: $(STAMP)
	$(BIN)/python -m bench.kernel_bench

bench-simgw: $(STAMP)
	$(BIN)/python -m bench.simgw_bench

bench-worker: $(STAMP)
	$(BIN)/python -m bench.worker_bench

bench-daemon: $(STAMP)
	$(BIN)/python -m bench.daemon_bench

bench-alerts: $(STAMP)
	$(BIN)/python -m bench.alerts_bench

bench-walkforward: $(STAMP)
	$(BIN)/python -m bench.walkforward_bench

bench-scan: $(STAMP)
	$(BIN)/python -m bench.scan_bench

# The web console against its targets: status polling (50 clients), each page's first
# render in headless Chromium, an analysis through the API vs the CLI, the console's RSS.
bench-web: $(STAMP)
	$(BIN)/python -m bench.web_bench

# The rehearsal: `tradd run` (real workers) against `tradd simgw` for DAYS simulated sessions
# (a weekend and a holiday among them) with faults on a schedule seeded by SEED, checking the
# ledger against the gateway, control answers, tradable share and memory; prints a table and,
# on failure, the seed to repeat it. MODE=daemon runs `tradd run --daemon`.
DAYS  ?= 5
SEED  ?= 1
MODE  ?= foreground
SPEED ?= 300
rehearse: $(STAMP)
	$(BIN)/python -m tradd.rehearsal --days $(DAYS) --seed $(SEED) --mode $(MODE) --speed $(SPEED)

# The short one CI runs (tests/rehearsal): two sessions across a weekend and a holiday.
rehearse-ci: $(STAMP)
	$(BIN)/python -m tradd.rehearsal --days 2 --speed 400 --seed $(SEED) --mode $(MODE)

# 30 simulated sessions without faults: RSS growth after warm-up (< 5%) and fd counts.
soak: $(STAMP)
	$(BIN)/python -m tradd.rehearsal --days 30 --no-faults --seed $(SEED) --mode $(MODE) --speed 600

# The IB Gateway simulator on the shipped sample data, port 4002, one simulated minute a second.
sim: $(STAMP)
	$(BIN)/tradd simgw --config etc/tradd.toml --port 4002 --speed 60

clean:
	rm -rf $(VENV) results .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
