# Whittle — the two commands that matter: `make demo` and `make test`.
SWIFT      ?= swift
RELEASE    := -c release
TESTFLAGS  := -c release -Xswiftc -enable-testing --disable-swift-testing
APT_PKGS   := libopenblas-dev zlib1g-dev pkg-config
BIN        := .build/release

.PHONY: setup build demo test bench fuzz clean reference

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

# The main job on the shipped default model.
demo: build
	$(BIN)/compress inspect fixtures/models/stories260K

test: setup
	$(SWIFT) test $(TESTFLAGS)

bench: setup
	$(SWIFT) run $(RELEASE) whittle-bench

clean:
	rm -rf .build
