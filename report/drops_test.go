package report

import (
	"bytes"
	"encoding/json"
	"html"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestCaptureDropsFinding: capture-dropped.pcapng's tool dropped 3
// packets by 0.98 s, while stream 0's server was silent since the
// ClientHello (frame 5; 6 its latest frame then) and stream 1 had sent
// its SYN (frame 7); stream 2 began after. The first is incomplete for
// it, with a warning; the second complete, with an info; the third has
// no such finding.
func TestCaptureDropsFinding(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "capture-dropped.pcapng"))
	want := map[int]struct {
		sev    Severity
		frames []int64
		words  string
	}{
		0: {SevWarning, []int64{6}, "the server's silence may be packets the capture never saw"},
		1: {SevInfo, []int64{7}, "the verdict rests on what was seen"},
	}
	for _, c := range conns {
		var got []Finding
		for _, f := range c.Findings {
			if f.Code == FindingCaptureDrops.Code {
				got = append(got, f)
			}
		}
		w, ok := want[c.Stream]
		if !ok {
			if len(got) > 0 {
				t.Errorf("stream %d: %v", c.Stream, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Severity != w.sev || !slices.Equal(got[0].Frames, w.frames) ||
			!strings.Contains(got[0].Message, "dropped 3 packets while this connection was open") || !strings.Contains(got[0].Message, w.words) {
			t.Errorf("stream %d: %+v", c.Stream, got)
		}
		if c.Stream == 0 && !strings.HasPrefix(c.Verdict, "incomplete: the capture dropped 3 packets while it was open (the server owed ServerHello)") {
			t.Errorf("stream 0: verdict %q", c.Verdict)
		}
	}
}

// TestDropsSaid: every format's summary says what the capturing side
// dropped, in the same words; JSON Lines in a record of its own that the
// schema describes; a file that dropped nothing says nothing, a live
// capture always says.
func TestDropsSaid(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "capture-dropped.pcapng"))
	file := Drops{Drops: capture.Drops{Received: 100, Kernel: 3}}
	const line = "3 packets dropped by the capturing tool's kernel (2.9%)"
	if got := file.Line(); got != line {
		t.Fatalf("Line() = %q, want %q", got, line)
	}
	for _, tc := range []struct {
		d    Drops
		said string
	}{
		{file, line},
		{Drops{Drops: capture.Drops{Received: 100}}, ""},
		{Drops{}, ""},
		{Drops{Live: true}, "0 packets dropped by the kernel"},
		{Drops{Live: true, Drops: capture.Drops{Received: 58_876, Kernel: 1_124}}, "1,124 packets dropped by the kernel (1.9%)"},
		{Drops{Live: true, Drops: capture.Drops{Received: 10, Kernel: 1, Interface: 2}}, "1 packet dropped by the kernel, 2 packets dropped by the interface (23.1%)"},
		{Drops{Drops: capture.Drops{Interface: 5}}, "5 packets dropped by the capturing tool's interface"},
	} {
		opts := Options{Inputs: []string{"capture"}, Drops: func() Drops { return tc.d }}
		for _, format := range []string{"table", "markdown", "html", "json"} {
			var b bytes.Buffer
			w, err := NewWriter(format, &b, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conns {
				cc := *c
				if err := w.Write(&cc); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.said == "" {
				if strings.Contains(out, "dropped by") || strings.Contains(out, `"type":"drops"`) {
					t.Errorf("%s, %+v: drops said", format, tc.d)
				}
				continue
			}
			said := tc.said
			if format == "html" {
				said = html.EscapeString(said)
			}
			if !strings.Contains(out, said) {
				t.Errorf("%s, %+v: %q not said", format, tc.d, tc.said)
			}
			if format == "json" {
				lines := strings.Split(strings.TrimSpace(out), "\n")
				var rec map[string]any
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || rec["type"] != "drops" || rec["message"] != tc.said ||
					rec["dropped"] != float64(tc.d.Dropped()) || len(lines) != len(conns)+1 {
					t.Errorf("json, %+v: last line %v (%v), %d lines", tc.d, rec, err, len(lines))
				}
			}
		}
	}
}

// TestDropsSchema: the schema takes the drops record and no other shape
// of it, and a connection line is still held to its own.
func TestDropsSchema(t *testing.T) {
	sch := compileSchema(t)
	good := []string{
		`{"type":"drops","by":"kernel","received":58876,"kernel":1124,"interface":0,"dropped":1124,"message":"1,124 packets dropped by the kernel (1.9%)"}`,
		`{"type":"drops","by":"capturing_tool","kernel":3,"interface":0,"dropped":3,"message":"3 packets dropped by the capturing tool's kernel"}`,
	}
	bad := []string{
		`{"type":"drops","by":"nic","kernel":3,"interface":0,"dropped":3,"message":"x"}`,
		`{"type":"drops","by":"kernel","kernel":3,"interface":0,"dropped":3,"message":"x","stream":1}`,
		`{"type":"drops","by":"kernel","kernel":-1,"interface":0,"dropped":3,"message":"x"}`,
		`{"type":"dropped","by":"kernel","kernel":3,"interface":0,"dropped":3,"message":"x"}`,
		`{"type":"drops","by":"kernel","received":0,"kernel":3,"interface":0,"dropped":3,"message":"x"}`,
	}
	for _, s := range append(good, bad...) {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		err = sch.Validate(v)
		if isGood := slices.Contains(good, s); isGood != (err == nil) {
			t.Errorf("%s: valid %v, want %v (%v)", s, err == nil, isGood, err)
		}
	}
	// The record written validates.
	var b bytes.Buffer
	jw := NewJSONWriter(&b)
	jw.drops = func() Drops { return Drops{Drops: capture.Drops{Received: 7, Kernel: 3, Interface: 1}} }
	if err := jw.Close(); err != nil {
		t.Fatal(err)
	}
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s: %v", b.Bytes(), err)
	}
}
