package verify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

var reportFile = flag.String("agreement", "", "write the agreement tables (Markdown) to this file")

const (
	testdata = "../testdata"
	shared   = "../../shared/captures"
)

// captures lists the generated captures and, when present, the corpus.
func captures(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	return append(files, testenv.CorpusIfPresent(t, "..")...)
}

// isCorpus reports whether an exception or report name is a file of the
// corpus (not of testdata).
func isCorpus(name string) bool { return !strings.HasPrefix(name, "testdata/") }

// ours runs tlsscope over a file and returns its JSON Lines, decoded: the
// comparison goes through the published contract.
func ours(t *testing.T, file string) map[int]*report.Connection { return oursWith(t, file, "") }

// oursWith is ours decrypting with a key log: the TCP connections by
// tcp.stream (QUIC and DTLS ones are compared with tshark's udp.stream
// apart).
func oursWith(t *testing.T, file, keylog string) map[int]*report.Connection {
	out := map[int]*report.Connection{}
	for _, c := range oursAll(t, file, keylog) {
		if c.Transport != "quic" && c.Transport != "dtls" {
			out[c.Stream] = c
		}
	}
	return out
}

// oursAll runs tlsscope over a file, with a key log when one is named,
// and returns every connection as its JSON Lines say it.
func oursAll(t *testing.T, file, keylog string) []*report.Connection {
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	opts := flows.DefaultOptions
	if keylog != "" {
		opts.KeyLog = decoder.NewKeyLog()
		f, err := os.Open(keylog)
		if err != nil {
			t.Fatal(err)
		}
		_, bad, err := opts.KeyLog.Add(keylog, f)
		f.Close()
		if err != nil || len(bad) > 0 {
			t.Fatalf("%s: %v %v", keylog, err, bad)
		}
	}
	a := flows.NewAnalyzer(opts)
	a.Run(m)
	var conns []*report.Connection
	for _, r := range a.Finish() {
		conns = append(conns, report.Build(r))
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, conns); err != nil {
		t.Fatal(err)
	}
	var out []*report.Connection
	dec := json.NewDecoder(&buf)
	for dec.More() {
		c := new(report.Connection)
		if err := dec.Decode(c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// exception is a reviewed disagreement: tshark and tlsscope differ, and
// the reason and evidence say who is right.
type exception struct {
	file, stream, field, reason string
	used                        bool
}

func readExceptions(t *testing.T, file string) []*exception {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*exception
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.SplitN(line, "\t", 4)
		if len(p) != 4 || strings.TrimSpace(p[3]) == "" {
			t.Fatalf("exceptions.tsv: %q: want file, stream, field and a reason, tab-separated", line)
		}
		out = append(out, &exception{file: p[0], stream: p[1], field: p[2], reason: p[3]})
	}
	return out
}

func excepted(ex []*exception, file string, stream int, field string) bool {
	return matchException(ex, name(file), strconv.Itoa(stream), field)
}

type tally struct{ compared, agreed, excepted int }

// fieldTallies are the tallies by field, in the order the fields came.
type fieldTallies struct {
	by    map[string]*tally
	order []string
}

// of is the field's tally, made at its first use.
func (f *fieldTallies) of(field string) *tally {
	x := f.by[field]
	if x == nil {
		if f.by == nil {
			f.by = map[string]*tally{}
		}
		x = &tally{}
		f.by[field] = x
		f.order = append(f.order, field)
	}
	return x
}

// udpCompare tallies one field of a udp.stream (QUIC, DTLS) in file
// tally ft: agreed; explained by an exception (ex: tshark's mistakes); a
// known tlsscope gap (bugs), counted in known apart from both; or an
// error.
func (f *fieldTallies) udpCompare(t *testing.T, ft *tally, ex, bugs []*exception, known map[string]int, base, id, field, want, got string) {
	t.Helper()
	bt := f.of(field)
	bt.compared++
	ft.compared++
	switch {
	case want == got:
		bt.agreed++
		ft.agreed++
	case matchException(ex, base, id, field):
		bt.excepted++
		ft.excepted++
	case matchException(bugs, base, id, field):
		known[field]++
		t.Logf("known tlsscope gap: %s udp.stream %s %s: tshark %q, tlsscope %q", base, id, field, want, got)
	default:
		t.Errorf("%s udp.stream %s %s:\n  tshark   %q\n  tlsscope %q", base, id, field, want, got)
	}
}

func suiteNames(nums []string) []string {
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = decoder.CipherSuiteName(hexNumber(n))
	}
	return out
}

func versionNames(nums []string) []string {
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = decoder.VersionName(hexNumber(n))
	}
	return out
}

func certField(cs []report.Certificate, f func(report.Certificate) []string) []string {
	var out []string
	for _, c := range cs {
		out = append(out, f(c)...)
	}
	return out
}

func tshTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// TestDifferential compares tlsscope with tshark field by field on every
// capture, prints the agreement per field and per file, and fails on any
// disagreement that exceptions.tsv does not explain.
func TestDifferential(t *testing.T) {
	testenv.TShark(t)
	files := captures(t)
	testenv.PrefetchHandshakes(t, files)
	var inputs []input
	for _, f := range files {
		inputs = append(inputs, input{file: f})
	}
	differential(t, inputs, "exceptions.tsv", *reportFile, plainBounds)
}

// input is a capture, and the key log both tshark and tlsscope decrypt it
// with ("" for none).
type input struct{ file, keylog string }

// differential compares tlsscope with tshark on the inputs, and writes the
// agreement tables to report when set.
func differential(t *testing.T, inputs []input, exceptions, report_ string, b bounds) {
	ex := readExceptions(t, exceptions)
	var fields fieldTallies
	byFile := map[string]*tally{}
	withCorpus := slices.ContainsFunc(inputs, func(in input) bool { return isCorpus(name(in.file)) })
	for _, in := range inputs {
		file := in.file
		views, err := readTShark(t, file, in.keylog)
		if err != nil {
			t.Logf("%v", err)
			continue
		}
		conns := oursWith(t, file, in.keylog)
		base := name(file)
		ft := &tally{}
		byFile[base] = ft
		for _, s := range slices.Sorted(maps.Keys(views)) {
			v := views[s]
			c := conns[s]
			if c == nil {
				c = &report.Connection{}
			}
			compare := func(field string, want, got []string) {
				agree := strings.Join(want, ",") == strings.Join(got, ",")
				if field == "serials" && len(got) > 0 && len(want) > len(got) {
					// tshark's x509af.serialNumber also holds the serials an
					// OCSP response or an authority key identifier in the same
					// frame names: ours must appear among them, in order.
					agree = subsequence(got, want)
				}
				if agree {
					want = got
				}
				bt := fields.of(field)
				bt.compared++
				ft.compared++
				w, g := strings.Join(want, ","), strings.Join(got, ",")
				if w == g {
					bt.agreed++
					ft.agreed++
					return
				}
				if excepted(ex, file, s, field) {
					bt.excepted++
					ft.excepted++
					return
				}
				t.Errorf("%s stream %d %s:\n  tshark   %q\n  tlsscope %q", base, s, field, w, g)
			}
			ch, sh := c.ClientHello, c.ServerHello
			if ch == nil {
				ch = &report.ClientHello{}
			}
			if sh == nil {
				sh = &report.ServerHello{}
			}
			if v.sawHello {
				compare("sni", []string{*v.sni}, []string{ch.SNI})
				compare("offered_suites", suiteNames(v.suites), ch.CipherSuites)
				compare("offered_versions", versionNames(v.versions), ch.SupportedVersions)
				compare("alpn_offered", v.alpnOffered, ch.ALPN)
				compare("ja3", []string{v.ja3}, []string{ch.JA3Full})
			}
			if v.sawServer {
				compare("chosen_suite", suiteNames([]string{v.chosenSuite}), []string{sh.CipherSuite})
				version := c.Version
				if version == "" && sh.HelloRetryRequest {
					version = "(HelloRetryRequest only)"
				}
				compare("version", versionNames([]string{v.version}), []string{version})
				compare("alpn_chosen", []string{v.alpnChosen}, []string{sh.ALPN})
				compare("ja3s", []string{v.ja3s}, []string{sh.JA3SFull})
			}
			if v.certs != nil {
				compare("certificates", v.certs, certField(c.Certificates, func(x report.Certificate) []string { return []string{x.SHA256} }))
				compare("serials", v.serials, certField(c.Certificates, func(x report.Certificate) []string { return []string{strings.TrimLeft(x.Serial, "0")} }))
				if v.validity != nil {
					compare("validity", v.validity, certField(c.Certificates, func(x report.Certificate) []string {
						return []string{tshTime(x.NotBefore), tshTime(x.NotAfter)}
					}))
				}
			}
			if v.clientCerts != nil {
				compare("client_certificates", v.clientCerts, certField(c.ClientCertificates, func(x report.Certificate) []string { return []string{x.SHA256} }))
			}
			if v.ticket != "" {
				got := ""
				if c.SessionTicket != nil {
					got = strconv.Itoa(int(c.SessionTicket.LifetimeS))
				}
				compare("ticket_lifetime", []string{v.ticket}, []string{got})
			}
			if len(v.alerts) > 0 {
				var got []string
				for _, a := range c.Alerts {
					if !a.Encrypted {
						got = append(got, a.From+":"+a.Level+":"+a.Description)
					}
				}
				compare("alerts", v.alerts, got)
			}
		}
	}
	for _, e := range ex {
		if !e.used && (withCorpus || !isCorpus(e.file)) {
			t.Errorf("exceptions.tsv: %s stream %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	var total tally
	var md strings.Builder
	md.WriteString("| field | compared | agree | explained exceptions | agreement |\n|---|---:|---:|---:|---:|\n")
	for _, f := range fields.order {
		x := fields.by[f]
		total.compared += x.compared
		total.agreed += x.agreed
		total.excepted += x.excepted
		fmt.Fprintf(&md, "| %s | %d | %d | %d | %.2f%% |\n", f, x.compared, x.agreed, x.excepted, 100*float64(x.agreed)/float64(x.compared))
	}
	fmt.Fprintf(&md, "| **all** | %d | %d | %d | %.2f%% |\n\n", total.compared, total.agreed, total.excepted, 100*float64(total.agreed)/float64(total.compared))
	md.WriteString("| file | compared | agree | explained exceptions |\n|---|---:|---:|---:|\n")
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		x := byFile[f]
		if x.compared > 0 {
			fmt.Fprintf(&md, "| %s | %d | %d | %d |\n", f, x.compared, x.agreed, x.excepted)
		}
	}
	t.Log("\n" + md.String())
	if report_ != "" {
		os.WriteFile(report_, []byte(md.String()), 0o644)
	}
	if share := float64(total.agreed) / float64(total.compared); share < b.share[withCorpus] {
		t.Errorf("agreement with tshark %.2f%%, below %.1f%%", 100*share, 100*b.share[withCorpus])
	}
	if least := b.fields[withCorpus]; total.compared < least {
		t.Errorf("only %d fields compared, want at least %d", total.compared, least)
	}
}

// bounds are what a differential must reach: the share of fields that
// agree, and the fields compared with and without the corpus.
type bounds struct {
	share  map[bool]float64
	fields map[bool]int
}

var (
	// About 5,100 fields with the corpus, 666 on the generated captures
	// alone, of which 7 are a reviewed exception (reset-injected-server-goes-on).
	plainBounds = bounds{map[bool]float64{true: 0.995, false: 0.985}, map[bool]int{true: 3000, false: 200}}
	// About 960 with the corpus, 450 on the generated captures alone.
	keyedBounds = bounds{map[bool]float64{true: 0.995, false: 0.995}, map[bool]int{true: 600, false: 300}}
)

// name is how reports and exceptions.tsv name a capture: its path under
// ../shared/captures, or testdata/NAME.
func name(file string) string {
	if rel, err := filepath.Rel(shared, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return "testdata/" + filepath.Base(file)
}

func subsequence(short, long []string) bool {
	i := 0
	for _, x := range long {
		if i < len(short) && short[i] == x {
			i++
		}
	}
	return i == len(short)
}

// keyedInputs are the captures that come with a key log: capgen's, the
// real stacks' (testdata/netlab) and, when present, the corpus's
// (ssldump's samples/log.txt, snet's pairs, mercury's test_decrypt).
func keyedInputs(t *testing.T) []input {
	var out []input
	for _, dir := range []string{testdata, filepath.Join(testdata, "netlab")} {
		keys, _ := filepath.Glob(filepath.Join(dir, "*.keys"))
		for _, k := range keys {
			base := strings.TrimSuffix(k, ".keys")
			if strings.HasSuffix(base, ".other") {
				out = append(out, input{strings.TrimSuffix(base, ".other") + ".pcap", k})
				continue
			}
			for _, f := range []string{base + ".pcap", base + ".client.pcap", base + ".server.pcap"} {
				if _, err := os.Stat(f); err == nil {
					out = append(out, input{f, k})
				}
			}
		}
	}
	if !testenv.HaveShared("..") {
		return out
	}
	dir := testenv.SharedDir("..")
	samples, _ := filepath.Glob(filepath.Join(dir, "ssldump", "samples", "*.pcap"))
	for _, f := range samples {
		out = append(out, input{f, filepath.Join(dir, "ssldump", "samples", "log.txt")})
	}
	snet, _ := filepath.Glob(filepath.Join(dir, "snet", "tests", "pcap", "data", "decrypt_by_keylog", "*.pcap"))
	for _, f := range snet {
		base := strings.TrimSuffix(f, ".pcap")
		for _, k := range []string{base + ".keylog", base + ".txt"} {
			if _, err := os.Stat(k); err == nil {
				out = append(out, input{f, k})
			}
		}
	}
	out = append(out, input{filepath.Join(dir, "mercury", "test", "data", "test_decrypt.pcap"), filepath.Join(dir, "mercury", "test", "data", "sslkeylogfile.log")})
	return out
}

// TestDifferentialWithKeys is the differential with both tools decrypting
// with the same key logs: the certificates, ALPN, tickets and alerts of
// TLS 1.3, and the Finished and alerts of TLS 1.2.
func TestDifferentialWithKeys(t *testing.T) {
	testenv.TShark(t)
	inputs := keyedInputs(t)
	if len(inputs) == 0 {
		t.Fatal("no capture with a key log")
	}
	out := ""
	if *reportFile != "" {
		out = strings.TrimSuffix(*reportFile, ".md") + "-keys.md"
	}
	differential(t, inputs, "exceptions_keys.tsv", out, keyedBounds)
}
