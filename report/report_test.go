package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const testdata = "../testdata"

func connections(t *testing.T, file string) []*Connection {
	t.Helper()
	return connectionsWith(t, file, testValidator)
}

// connectionsWith is connections judging chains with v.
func connectionsWith(t *testing.T, file string, v *decoder.Validator) []*Connection {
	t.Helper()
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src}) // damaged files end with a warning
	defer m.Close()
	opts := flows.DefaultOptions
	opts.Validator = v
	if k := testenv.KeyLogOf(file); k != "" {
		// A capture made with a key log is judged decrypted.
		opts.KeyLog = decoder.NewKeyLog()
		f, err := os.Open(k)
		if err != nil {
			t.Fatal(err)
		}
		opts.KeyLog.Add(k, f)
		f.Close()
	}
	a := flows.NewAnalyzer(opts)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	spans[file] = [2]time.Time{a.Stats.First, a.Stats.Last}
	fileDrops[file] = Drops{Drops: a.Stats.Drops}
	var out []*Connection
	for _, r := range a.Finish() {
		out = append(out, Build(r))
	}
	return out
}

// testValidator judges the test captures' chains as the golden files
// were made (the command line with --trust none --ca-file
// testdata/capgen-ca.pem): a store of capgen's root only.
var testValidator = func() *decoder.Validator {
	ca, err := decoder.ReadCAFiles([]string{filepath.Join(testdata, "capgen-ca.pem")})
	if err != nil {
		panic(err)
	}
	s, err := decoder.LoadTrustStore(decoder.TrustNone, ca)
	if err != nil {
		panic(err)
	}
	return decoder.NewValidator(s)
}()

func render(t *testing.T, format string, conns []*Connection, detail bool) []byte {
	var b bytes.Buffer
	var err error
	opts := Options{Detail: detail, Inputs: []string{"capture"}, TrustStore: testValidator.Store().String()}
	if goldenDrops != nil {
		opts.Drops = func() Drops { return *goldenDrops }
	}
	switch format {
	case "json":
		jw := NewJSONWriter(&b)
		jw.drops = opts.Drops
		for _, c := range conns {
			if err = jw.Write(c); err != nil {
				break
			}
		}
		if err == nil {
			err = jw.Close()
		}
	case "md":
		// As the command line says them (TestStreamedOutputEqualsGolden).
		opts.Version, opts.StallTimeout = "dev", flows.DefaultOptions.StallTimeout
		err = WriteMarkdown(&b, conns, opts)
	case "csv":
		err = WriteCSV(&b, conns)
	default:
		err = WriteTable(&b, conns, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden renders every generated capture in every format and compares
// with the reviewed files in testdata/golden (rewritten with -update).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	// The real stacks' captures too (testdata/netlab/MANIFEST.md).
	netlab, _ := filepath.Glob(filepath.Join(testdata, "netlab", "*.pcap"))
	files = append(files, netlab...)
	// QUIC from quic-go (testdata/quic/MANIFEST.md).
	quics, _ := filepath.Glob(filepath.Join(testdata, "quic", "*.pcap"))
	files = append(files, quics...)
	if len(files) == 0 || len(netlab) == 0 || len(quics) == 0 {
		t.Fatal("no captures in testdata, testdata/netlab or testdata/quic")
	}
	defer func() { goldenDrops = nil }()
	for _, f := range files {
		conns := connections(t, f)
		// A pcapng whose tool dropped packets: the summaries say it, as
		// the command line does.
		goldenDrops = nil
		if d := fileDrops[f]; d.Said() {
			goldenDrops = &d
		}
		base := filepath.Base(f)
		if filepath.Base(filepath.Dir(f)) == "quic" {
			base = "quic-" + base
		}
		for _, format := range []string{"table", "json", "md", "csv"} {
			got := render(t, format, conns, format == "table")
			if format == "md" {
				got = renderMarkdown(t, conns, spans[f]) // with the capture's span, as the command line
			}
			checkGolden(t, filepath.Join(testdata, "golden", base+"."+format), got)
		}
	}
}

// checkGolden compares got with the reviewed golden file, or rewrites the
// file with -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Errorf("%s: %v (run make golden)", golden, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output:\n%s", golden, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

func compileSchema(t *testing.T) *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("connection.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestJSONMatchesSchema validates every JSON line of every generated
// capture, and of the corpus in ../shared when present, against the shipped schema.
func TestJSONMatchesSchema(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	files = append(files, testenv.CorpusIfPresent(t, "..")...)
	lines := 0
	for _, f := range files {
		out := render(t, "json", connections(t, f), false)
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s: %v\n%s", f, err, line)
			}
			lines++
		}
	}
	// Every generated capture has at least one connection; the corpus
	// adds hundreds.
	want := len(files)
	if testenv.HaveShared("..") {
		want = 400
	}
	if lines < want {
		t.Errorf("only %d JSON lines validated, want at least %d", lines, want)
	}
	t.Logf("%d JSON lines from %d captures valid", lines, len(files))
}

// TestSchemaRejects proves the schema is not a rubber stamp.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	for _, bad := range []string{
		`{}`,
		`{"stream":0,"client":"1.2.3.4:5","server":"1.2.3.4:443","start":"2026-03-02T10:00:00Z","duration_ms":1,"outcome":"great","verdict":"","ended_by":"fin","tcp":{"retransmissions":[0,0],"bytes":[0,0]}}`,
		`{"stream":0,"client":"1.2.3.4:5","server":"1.2.3.4:443","start":"2026-03-02T10:00:00Z","duration_ms":1,"outcome":"complete","verdict":"","ended_by":"fin","tcp":{"retransmissions":[0,0],"bytes":[0,0]},"extra":1}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if sch.Validate(v) == nil {
			t.Errorf("schema accepts %s", bad)
		}
	}
}

// TestMarkdownTables checks the Markdown tables are valid GitHub-flavoured
// Markdown: a header row, a delimiter row with as many cells, and rows with
// the same count of unescaped pipes.
func TestMarkdownTables(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	for _, f := range files {
		checkMarkdown(t, f, render(t, "md", connections(t, f), true))
	}
}

func cells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if line[i] == '|' {
			n++
		}
	}
	return n - 1
}

func checkMarkdown(t *testing.T, name string, md []byte) {
	t.Helper()
	lines := strings.Split(string(md), "\n")
	inCode := false
	cols := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(l, "|") {
			cols = -1
			continue
		}
		n := cells(l)
		if cols < 0 {
			cols = n
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "| ---") || cells(lines[i+1]) != n {
				t.Errorf("%s: table at line %d has no delimiter row of %d cells", name, i+1, n)
			}
			continue
		}
		if n != cols || !strings.HasSuffix(l, "|") {
			t.Errorf("%s: line %d has %d cells, the table %d: %q", name, i+1, n, cols, l)
		}
	}
	if inCode {
		t.Errorf("%s: unclosed code block", name)
	}
}

// csvRows parses CSV output and checks its shape.
func csvRows(t *testing.T, out []byte) [][]string {
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	for _, r := range rows {
		if len(r) != len(TableHeader)+1 {
			t.Fatalf("CSV row of %d fields: %q", len(r), r)
		}
	}
	return rows
}

func TestCSV(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "demo.pcapng"))
	rows := csvRows(t, render(t, "csv", conns, false))
	if len(rows) != 4 || rows[3][len(rows[3])-1] != "stalled" {
		t.Errorf("demo CSV: %q", rows)
	}
}

func TestJSONLinesOrderedByStream(t *testing.T) {
	out := render(t, "json", connections(t, filepath.Join(testdata, "demo.pcapng")), false)
	dec := json.NewDecoder(bytes.NewReader(out))
	last := -1
	for dec.More() {
		var c Connection
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		if c.Stream <= last {
			t.Errorf("stream %d after %d", c.Stream, last)
		}
		last = c.Stream
	}
	if last != 2 {
		t.Errorf("last stream %d, want 2", last)
	}
}

// TestSummarizeKeepsWhatIsPrinted: the table and Markdown of summarized
// connections (what the command line holds until the end) are the same as
// those of the whole connections.
func TestSummarizeKeepsWhatIsPrinted(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	for _, f := range files {
		full := connections(t, f)
		small := connections(t, f)
		for _, c := range small {
			c.Summarize(!flows.Outcome(c.Outcome).Good())
		}
		for _, format := range []string{"table", "md"} {
			want, got := render(t, format, full, false), render(t, format, small, false)
			if !bytes.Equal(want, got) {
				t.Errorf("%s: %s of summarized connections differs:\n%s", filepath.Base(f), format, firstDiff(string(want), string(got)))
			}
		}
	}
}
