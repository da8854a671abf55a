# Whittle — the two commands that matter: `make demo` and `make test`.
SWIFT      ?= swift
RELEASE    := -c release
TESTFLAGS  := -c release -Xswiftc -enable-testing --disable-swift-testing
APT_PKGS   := libopenblas-dev zlib1g-dev pkg-config
BIN        := .build/release

.PHONY: setup build demo test bench fuzz clean reference report-screenshot

# Installs the C libraries (OpenBLAS, zlib) with apt-get when they are missing.
setup:
	@if pkg-config --exists openblas 2>/dev/null && [ -f /usr/include/zlib.h ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "setup: installing $(APT_PKGS)"; \
		(apt-get install -y -qq $(APT_PKGS) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(APT_PKGS))) ; \
	else \
		echo "setup: OpenBLAS or zlib headers are missing. Install them, e.g.: sudo apt-get install $(APT_PKGS)"; exit 1; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "setup: Swift 6 toolchain not found (https://swift.org/install)"; exit 1; }

build: setup
	$(SWIFT) build $(RELEASE) --product compress

# The main job on the shipped default model: FinerCut + NF4 on the Shakespeare Llama, with the
# before/after table; the output folder and report.html land in out/quickstart.
demo: build
	$(BIN)/compress --recipe recipes/quickstart.json --force
	@echo "report: out/quickstart/report.html"

test: setup
	$(SWIFT) test $(TESTFLAGS)

bench: setup
	$(SWIFT) run $(RELEASE) whittle-bench $(or $(SUITES),all)

# libFuzzer over SafetensorsHeader.parse (and with it StrictJSON) (Fuzz/HeaderFuzzer.swift), then over GGUFHeader.parse and the
# dequantizers and the GGUF model/tokenizer readers (Fuzz/GGUFFuzzer.swift), built with swiftc -sanitize=fuzzer,address.
# Seeds: the malformed corpus and the Python-written files; findings land in Fuzz/crashers/.
FUZZ_DIR     := .build/fuzz
FUZZ_SECONDS ?= 180
FUZZ_FLAGS   := -O -sanitize=fuzzer,address -parse-as-library -I $(FUZZ_DIR) -I Sources/CSIMD/include
fuzz:
	@mkdir -p $(FUZZ_DIR)/corpus Fuzz/crashers
	rm -f $(FUZZ_DIR)/libCSIMD.a
	for c in Sources/CSIMD/*.c; do clang -O2 -fsanitize=fuzzer-no-link,address -I Sources/CSIMD/include -c $$c -o $(FUZZ_DIR)/$$(basename $$c .c).o && ar rcs $(FUZZ_DIR)/libCSIMD.a $(FUZZ_DIR)/$$(basename $$c .c).o || exit 1; done
	swiftc $(FUZZ_FLAGS) -I Sources/CSIMD/include -module-name Tensors -emit-library -static -emit-module -emit-module-path $(FUZZ_DIR)/Tensors.swiftmodule Sources/Tensors/*.swift -o $(FUZZ_DIR)/libTensors.a
	swiftc $(FUZZ_FLAGS) -module-name StrictJSON -emit-library -static -emit-module -emit-module-path $(FUZZ_DIR)/StrictJSON.swiftmodule Sources/StrictJSON/*.swift -o $(FUZZ_DIR)/libStrictJSON.a
	swiftc $(FUZZ_FLAGS) -module-name Checkpoints -emit-library -static -emit-module -emit-module-path $(FUZZ_DIR)/Checkpoints.swiftmodule Sources/Checkpoints/*.swift -o $(FUZZ_DIR)/libCheckpoints.a
	swiftc $(FUZZ_FLAGS) Fuzz/HeaderFuzzer.swift -L $(FUZZ_DIR) -lCheckpoints -lStrictJSON -lTensors -lCSIMD -o $(FUZZ_DIR)/header-fuzzer
	$(FUZZ_DIR)/header-fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -dict=Fuzz/safetensors.dict \
		-artifact_prefix=Fuzz/crashers/ $(FUZZ_DIR)/corpus fixtures/safetensors/malformed fixtures/safetensors/python_written
	@mkdir -p $(FUZZ_DIR)/gguf-corpus
	swiftc $(FUZZ_FLAGS) Fuzz/GGUFFuzzer.swift -L $(FUZZ_DIR) -lCheckpoints -lStrictJSON -lTensors -lCSIMD -o $(FUZZ_DIR)/gguf-fuzzer
	$(FUZZ_DIR)/gguf-fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-artifact_prefix=Fuzz/crashers/gguf- $(FUZZ_DIR)/gguf-corpus fixtures/gguf/malformed fixtures/gguf/fuzz-crashers

clean:
	rm -rf .build

# Regenerates the reference fixtures with the committed scripts in tools/reference/ (Python with torch,
# transformers, tokenizers, safetensors, numpy, gguf, bitsandbytes, compressed-tensors; several read
# ../shared). The last two steps need outputs of our code first: the Swift-written safetensors files
# (PythonInteropTests with WHITTLE_UPDATE_FIXTURES=1) and the nf4/int8 outputs (QuantizationPassTests).
# Not run: shakespeare_train.py (retrains the shipped model) and quant_accuracy.py (a benchmark).
PYTHON ?= python3
REFERENCE_SCRIPTS := models_reference.py tokenizers_reference.py tokenizers_decode_specials.py eval_reference.py \
	eval_generation_reference.py shakespeare_reference.py training_reference.py hooks_reference.py distillation_reference.py \
	gated_attention_reference.py safetensors_dtypes.py safetensors_malformed.py safetensors_shared_models.py gguf_reference.py \
	gguf_malformed.py gguf_llama_reference.py quant_reference.py quant_fake.py quant_gpt2.py quant_observers.py \
	pruning_finercut.py pruning_optin.py eval_model_reference.py sizes_reference.py
reference: setup
	@for s in $(REFERENCE_SCRIPTS); do echo "reference: $$s"; $(PYTHON) tools/reference/$$s || exit 1; done
	$(PYTHON) tools/reference/safetensors_interop.py write
	WHITTLE_UPDATE_FIXTURES=1 $(SWIFT) test $(TESTFLAGS) --filter "PythonInteropTests|QuantizationPassTests"
	$(PYTHON) tools/reference/safetensors_interop.py verify
	$(PYTHON) tools/reference/quant_checkpoints.py

# Writes the sample report (ReportsTests) to .build/report-sample and screenshots report.html in headless Chromium.
report-screenshot: setup
	WHITTLE_REPORT_OUT=$(CURDIR)/.build/report-sample $(SWIFT) test --filter ReportsTests.ReportTests/testWriterWritesJSONMarkdownHTMLAndCharts
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,3800 \
		--screenshot=$(CURDIR)/.build/report-sample/screenshot.png file://$(CURDIR)/.build/report-sample/report.html
	@echo "screenshot: .build/report-sample/screenshot.png"
