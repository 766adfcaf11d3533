# tlsscope: make demo, make test. Each target installs what it lacks.
SHELL := /bin/bash
GO ?= go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 1m

.PHONY: all build demo test test-long mutate vet fmt-check deps testdata golden fuzz fuzz-short verify bench bench-memory bench-hostile netlab netlab-test live-test duckdb-test report-screenshots clean

all: build

# libpcap headers are needed by the live capture code (cgo).
deps:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26 or later (https://go.dev/dl/)"; exit 1; }
	@if ! echo '#include <pcap.h>' | cc -E - >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing libpcap-dev..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >/dev/null; \
		else \
			echo "libpcap headers are missing: run 'sudo apt-get install libpcap-dev' (Debian/Ubuntu) or 'sudo dnf install libpcap-devel'"; exit 1; \
		fi; \
	fi

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/tlsscope ./cmd/tlsscope

# The bundled capture has a complete, a failed and a stalled handshake, so
# tlsscope exits 1 (a handshake failed); only 2 and above is an error here.
demo: build
	@./bin/tlsscope testdata/demo.pcapng; status=$$?; [ $$status -le 1 ] || exit $$status

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: deps
	$(GO) vet ./...

# tshark's output is cached in .cache/tshark (see internal/testenv).
test: deps fmt-check vet
	$(GO) test ./...

# The long tests (files tagged //go:build long: the 1 GB load capture), then
# the race detector over the packages with goroutines.
LONG_PKGS = $(patsubst %/,%,$(sort $(dir $(shell grep -rlx --include="*_test.go" "//go:build long" .))))
RACE_PKGS := ./cmd/tlsscope ./flows

test-long: deps
	$(GO) vet -tags long $(LONG_PKGS)
	$(GO) test -tags long $(LONG_PKGS)
	$(GO) test -race $(RACE_PKGS)

# The differential test against tshark and the peer baselines, with the
# agreement tables (needs tshark and ../shared/captures).
verify: deps
	$(GO) test ./verify -count=1 -v -run 'TestDifferential|TestBaselines|TestSuricataBaselines|TestQUICDifferential|TestQUICBaselines|TestDTLSDifferential|TestDTLSBaselines|TestZeekValidation' -args -agreement $(CURDIR)/verify/agreement.md | grep -v '^=== RUN'

# tlsscope against tshark on a ~50 MB and a ~1 GB load capture (made once,
# kept in .cache/bench), with the verdicts checked against the generator.
bench: build
	$(GO) run ./internal/bench -tlsscope bin/tlsscope -runs 5
	$(GO) test ./decoder ./flows -run '^$$' -bench . -benchmem

# Peak RSS as the capture grows past the first seconds of traffic (tlsscope
# only; writes 2.4 GB more into .cache/bench once).
bench-memory: build
	$(GO) run ./internal/bench -tlsscope bin/tlsscope -sizes 250M,1G,2G -tshark=false -runs 3

# tlsscope on hostile and huge captures (a SYN flood, 300,000 stalls,
# pcapng bombs, ...; made once into .cache/hostile, about 4.7 GB) in every
# format, under a 4 GiB address-space limit and a 10 min timeout per run;
# prints peak RSS, CPU and verdict counts against the truth, then the targets.
# HOSTILE_FLAGS='-cases synflood -formats json -scale 0.1' narrows it.
bench-hostile: build
	$(GO) run ./internal/bench/hostile -tlsscope bin/tlsscope $(HOSTILE_FLAGS)

# Deliberate mutations of the verdict code, one at a time through go test
# -overlay, must each make a test fail (internal/mutate/mutations.txt);
# MUTATE_FLAGS=-ops flips every operator of the verdict files instead.
mutate: deps
	$(GO) run ./internal/mutate $(MUTATE_FLAGS)

# Regenerate the captures in testdata/ and testdata/quic/ (byte for byte
# reproducible).
testdata:
	$(GO) test ./internal/capgen -run '^(TestCapturesReproduced|TestQUICCapturesReproduced)$$' -write

# Captures of real TLS stacks (OpenSSL, GnuTLS, curl, Python) through a
# router that makes faults, at both ends (issue #14); as root. The two use
# the same namespaces (tlsl-*): run one at a time.
netlab:
	$(GO) run ./internal/netlab -out testdata/netlab

netlab-test:
	$(GO) test -tags netlab ./internal/netlab -count=1 -v -timeout 45m

# Live capture under load (issue #24): real crypto/tls traffic replayed with
# tcpreplay across a veth at its own timing and at top speed while tlsscope
# -i sniffs, outcomes compared with the offline run; as root (namespaces
# tlslive-*). `go run ./internal/liveload -tcpdump` prints the README's table.
live-test:
	$(GO) vet -tags livelab ./internal/liveload
	$(GO) test -tags livelab ./internal/liveload -count=1 -v -timeout 20m

# tlsscope's JSON Lines loaded into a real DuckDB, the README's queries run
# and checked (internal/duckdbtest: its own module, so DuckDB, cgo and a
# large static library, stays out of tlsscope's go.mod).
duckdb-test: deps
	cd internal/duckdbtest && $(GO) test ./... -count=1

# Rewrite golden outputs after a reviewed change of behaviour: report writes
# them, then the command line's streamed output is checked against them.
golden: deps
	$(GO) test ./report -count=1 -run '^(TestGolden|TestECSGolden|TestHTMLGolden)$$' -update
	$(GO) test ./cmd/tlsscope -count=1 -run '^TestStreamedOutputEqualsGolden$$'

# Pictures of the reports as people see them, to look at after a change of
# the HTML or Markdown: the HTML report of demo.pcapng and of real stacks'
# captures with loss, whole and one ladder, in headless Chromium
# (internal/browsertest; apt-get install chromium).
report-screenshots: build
	@mkdir -p .cache/screenshots
	$(GO) test ./internal/browsertest -count=1 -run '^TestScreenshots$$' -args -screenshots $(CURDIR)/.cache/screenshots
	# The Markdown report rendered as GitHub does (github-markdown-css and mermaid from npm).
	npm install --silent --prefix .cache/npm github-markdown-css mermaid >/dev/null
	./bin/tlsscope --format markdown testdata/demo.pcapng > .cache/screenshots/demo.md || true
	./bin/tlsscope --format markdown testdata/netlab/mtu-blackhole.client.pcap > .cache/screenshots/mtu-blackhole.md || true
	cd internal/mdrender && for m in demo mtu-blackhole; do $(GO) run . -npm $(CURDIR)/.cache/npm/node_modules -html $(CURDIR)/.cache/screenshots/$$m.md.html -png $(CURDIR)/.cache/screenshots/$$m.md.png $(CURDIR)/.cache/screenshots/$$m.md; done
	@ls .cache/screenshots/*.png

FUZZ_TARGETS := decoder:FuzzConn decoder:FuzzKeyLog decoder:FuzzCipher13Open decoder:FuzzCipher12Open decoder:FuzzClientHello decoder:FuzzServerHello decoder:FuzzHandshakeMessages decoder:FuzzDTLSRecords decoder:FuzzDTLSFragments flows:FuzzPacket flows/capture:FuzzPcapReader flows/capture:FuzzPcapngReader flows/quic:FuzzParseDatagram flows/quic:FuzzCryptoStream

fuzz: deps
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzzing $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) || exit 1; done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=15s

# (.cache/bench, slow to make again, stays.)
clean:
	rm -rf bin .cache/tshark
