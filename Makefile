# The two commands in the README are `make serve` and `make test`; both create the
# project's virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PARAMS ?= params/default.pkl

# requirements*.txt are edited by hand; `make lock` resolves them into requirements*.lock
# (every transitive dependency pinned, with hashes), and only the locks are installed.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock" $(LOCK_FLAGS)

.PHONY: serve test venv dev lock lint train train-seed evaluate bench bench-api clean

$(BIN)/.runtime: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(BIN)/.dev: requirements-dev.lock $(BIN)/.runtime
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

venv: $(BIN)/.runtime
dev: $(BIN)/.dev

## Resolve requirements*.txt into requirements*.lock again (after editing either); keeps the
## locked versions that still fit. `make lock LOCK_FLAGS=--upgrade` moves everything to the newest.
lock: $(BIN)/.dev
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(PYTHON) scripts/locks.py

## Serve the shipped weights with gunicorn on http://127.0.0.1:8000
serve: $(BIN)/.runtime
	DIGITS_PARAMS=$(PARAMS) $(BIN)/gunicorn -c gunicorn.conf.py

## Every test: unit, gradient checks, trainer, API, fuzzing, browser (needs chromium)
test: $(BIN)/.dev
	bash scripts/ensure-test-deps.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(BIN)/.dev
	$(BIN)/ruff check .

## Train the shipped model (defaults of model.train) and evaluate it
train: $(BIN)/.dev
	$(BIN)/python -m model.train --output params/default.pkl
	$(BIN)/python -m model.evaluate params/default.pkl
	$(BIN)/python scripts/make_examples.py

## The seed article's network, trained for 2 epochs as the article did
train-seed: $(BIN)/.dev
	$(BIN)/python -m model.train --preset seed --epochs 2 --batch-size 32 --optimizer adam \
		--lr 0.001 --schedule constant --warmup-epochs 0 --weight-decay 0 \
		--label-smoothing 0 --no-augment --output params/seed.pkl
	$(BIN)/python -m model.evaluate params/seed.pkl
	$(BIN)/python scripts/make_examples.py

evaluate: $(BIN)/.dev
	$(BIN)/python -m model.evaluate $(PARAMS)
	$(BIN)/python scripts/make_examples.py

bench: $(BIN)/.dev
	$(BIN)/python bench/bench_model.py

bench-api: $(BIN)/.dev
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
