# Two entry points: `make demo` and `make test`. Each makes its own virtual environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	# torch first and pinned: it is the local CPU build; anything looser pulls a CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]" torch==2.13.0
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py --out demo_out

test: $(VENV)/.installed
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo_out bench/out .pytest_cache
