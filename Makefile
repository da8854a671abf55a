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

# The main job on the shipped default model.
demo: build
	$(BIN)/compress inspect fixtures/models/stories260K

test: setup
	$(SWIFT) test $(TESTFLAGS)

bench: setup
	$(SWIFT) run $(RELEASE) whittle-bench

clean:
	rm -rf .build

# Writes the sample report (ReportsTests) to .build/report-sample and screenshots report.html in headless Chromium.
report-screenshot: setup
	WHITTLE_REPORT_OUT=$(CURDIR)/.build/report-sample $(SWIFT) test --filter ReportsTests.ReportTests/testWriterWritesJSONMarkdownHTMLAndCharts
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,3800 \
		--screenshot=$(CURDIR)/.build/report-sample/screenshot.png file://$(CURDIR)/.build/report-sample/report.html
	@echo "screenshot: .build/report-sample/screenshot.png"
