package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestTotalsOfTheRead: every format meant for people says how many of the
// connections read it shows, when a filter left some out ("1 of 3").
func TestTotalsOfTheRead(t *testing.T) {
	all := connections(t, filepath.Join(testdata, "demo.pcapng"))
	var failed []*Connection
	for _, c := range all {
		if c.Outcome == "failed" {
			failed = append(failed, c)
		}
	}
	if len(all) != 3 || len(failed) != 1 {
		t.Fatalf("%d connections, %d failed", len(all), len(failed))
	}
	opts := Options{Inputs: []string{"demo"}, Total: func() int { return len(all) }}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"table", func(b *bytes.Buffer) error { return WriteTable(b, failed, opts) }, "1 of 3 TLS connections"},
		{"markdown", func(b *bytes.Buffer) error { return WriteMarkdown(b, failed, opts) }, "**1 of 3 TLS connections, 1 did not complete**"},
		{"html", func(b *bytes.Buffer) error { return WriteHTML(b, failed, opts) }, "1 of 3 TLS connections"},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: no %q", tc.name, tc.want)
		}
	}
}

// TestHTMLServers: the HTML summary has the outcomes by server and SNI.
func TestHTMLServers(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, connections(t, filepath.Join(testdata, "demo.pcapng")), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	i := strings.Index(out, "By server and SNI")
	if i < 0 {
		t.Fatal("no outcomes by server")
	}
	if row := out[i:]; !strings.Contains(row, "<td>198.51.100.20:443</td><td>shop.example</td><td class=\"num\">3</td><td class=\"num\">1</td><td class=\"num\">1</td>") {
		t.Errorf("no row of 3 connections, 1 complete, 1 failed for shop.example:\n%.600s", row)
	}
}
