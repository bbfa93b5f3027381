# The two commands of the README:
#   make book   set up a fresh Debian/Ubuntu machine and build the whole book
#   make test   set up (with test tools and chromium) and run every test
.PHONY: book test setup setup-dev lint bench clean

book: setup
	.venv/bin/course build

# the tests in one worker per core (at most 4: each trains models on torch threads of its own)
test: setup-dev lint
	.venv/bin/pytest -p no:cacheprovider -n auto --maxprocesses 4

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh --dev

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy

bench:
	.venv/bin/python benchmarks/bench_engine.py

clean:
	.venv/bin/course clean
