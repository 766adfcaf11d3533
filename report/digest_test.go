package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// synthetic connections: n TLS handshakes, every tenth stalled, and m SYNs
// to :443 never answered.
func synthetic(n, m int) []*Connection {
	var out []*Connection
	for i := range n {
		c := &Connection{Stream: i, Client: fmt.Sprintf("192.0.2.%d:%d", i%200+1, 40000+i), Server: "198.51.100.20:443",
			Outcome: "complete", Verdict: "complete in 20 ms", EndedBy: "fin",
			Findings: []Finding{{Severity: SevWarning, Code: "self_signed", Message: "The server's certificate is self-signed."}}}
		if i%10 == 0 {
			c.Outcome, c.Verdict = "stalled", "stalled: server silent 5.0 s after ClientHello (owes ServerHello)"
			c.Findings = append(c.Findings, Finding{Severity: SevError, Code: "handshake_stalled", Message: "The server stopped sending TLS."})
		}
		out = append(out, c)
	}
	for i := range m {
		out = append(out, &Connection{Stream: n + i, Client: fmt.Sprintf("203.0.113.%d:%d", i%7, 1024+i%60000), Server: "198.51.100.20:443",
			Outcome: "stalled", Verdict: "stalled: server silent 2.0 s after SYN (owes SYN-ACK)", tcpOnly: true,
			Stall: &Stall{WaitingFor: "server", Next: "SYN-ACK"}, Findings: []Finding{{Severity: SevError, Code: "handshake_stalled", Message: "The server never answered the client's SYN."}}})
	}
	return out
}

// TestTableSummarisesBeyondTheRowLimit: 2,000 connections and 5,000 SYNs
// give a table of at most the row limit, the worst first chosen, the
// totals of all, findings grouped by code, and one line for the SYNs;
// what the writer holds stays within twice the limit.
func TestTableSummarisesBeyondTheRowLimit(t *testing.T) {
	var buf bytes.Buffer
	tw := newTableWriter(&buf, Options{RowLimit: 50, Width: -1}).(*tableWriter) // lines unbroken
	for _, c := range synthetic(2000, 5000) {
		if err := tw.Write(c); err != nil {
			t.Fatal(err)
		}
		if len(tw.d.rows) > 100 {
			t.Fatalf("the writer holds %d rows", len(tw.d.rows))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"7000 TLS connections: 1800 complete, 5200 stalled",
		"50 of 7000 connections listed",
		"handshake_stalled: 5200 connections (streams 0, 10, 20, 30, 40, …)",
		"self_signed: 2000 connections",
		"TCP connection attempts that never reached TLS: 5000 (20 listed, 4980 more: 4980 unanswered); server ports: 443 (4980)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	_, listed, _ := strings.Cut(out, "Connections that did not go well")
	if rows := strings.Count(listed, "\n│ "); rows > 51 || rows < 2 {
		t.Errorf("%d table lines of connections, want at most the limit and a header", rows)
	}
	if !strings.Contains(out, "│ 198.51.100.20:443 │     │ 7000  │ 1800     │ 5200    │\n") {
		t.Errorf("no outcomes by server:\n%s", out)
	}
	if strings.Contains(out, "complete in 20 ms") {
		t.Error("a complete connection listed while stalled ones were left out")
	}
}

// TestTableUnderTheLimitUnchanged: under the limit every row and every
// finding is listed as before.
func TestTableUnderTheLimitUnchanged(t *testing.T) {
	conns := synthetic(30, 0)
	var a, b bytes.Buffer
	if err := WriteTable(&a, conns, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&b, conns, Options{RowLimit: 1000}); err != nil {
		t.Fatal(err)
	}
	// 3 stalled listed one by one; self_signed, on 30, once with a count.
	if a.String() != b.String() || strings.Count(a.String(), "stream ") != 3 || strings.Contains(a.String(), "listed") ||
		!strings.Contains(a.String(), "self_signed: 30 connections (streams 0, 1, 2, 3, 4, …), e.g. The server's certificate is self-signed.") {
		t.Errorf("under the limit:\n%s", a.String())
	}
}
