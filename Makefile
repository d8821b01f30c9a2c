# Two entry points, both creating and reusing .venv:
#   make demo   install, then run the pipeline on the shipped example evaluation
#   make test   install, then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: demo test lint docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build, so nothing pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	PATH=$(BIN):$$PATH $(BIN)/python -m pytest

lint: $(STAMP)
	PATH=$(BIN):$$PATH $(BIN)/snakemake --lint

# Removes what the pipeline made here, except the decisions audit log: it is the
# record of every analyst decision, and decisions.parquet is rebuilt from it.
clean:
	find data/processed -mindepth 1 -maxdepth 1 ! -name decisions_audit.csv ! -name .gitkeep -exec rm -rf {} +
	rm -rf reports/* .snakemake logs
	touch data/processed/.gitkeep reports/.gitkeep

# Regenerate the README's config reference from the schema.
docs: $(STAMP)
	$(BIN)/python -c "import re,pathlib; from pipeline.config import reference_markdown as r; p=pathlib.Path('README.md'); s=p.read_text(); p.write_text(re.sub(r'(<!-- config-reference:start -->\n).*?(<!-- config-reference:end -->)', lambda m: m.group(1)+r()+m.group(2), s, flags=re.S))"
