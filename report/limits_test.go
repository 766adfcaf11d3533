package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

func hostile(t *testing.T, name string, scale float64, opts flows.Options) ([]*Connection, *flows.Analyzer, capgen.HostileTruth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := capgen.WriteHostile(&buf, name, scale)
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenReader(name, &buf)
	if err != nil {
		t.Fatal(err)
	}
	a := flows.NewAnalyzer(opts)
	var out []*Connection
	a.OnResult = func(r *flows.Result) { out = append(out, Build(r)) }
	if err := a.Run(capture.NewMerge([]capture.Source{src})); err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Finish() {
		out = append(out, Build(r))
	}
	return out, a, truth
}

// TestStillSendingIsNotSilence: a ClientHello claiming 16 MB, sent steadily
// until the capture ends, is a client still sending, not a client silent.
func TestStillSendingIsNotSilence(t *testing.T) {
	conns, _, _ := hostile(t, "trickle", 1, flows.DefaultOptions)
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	c := conns[0]
	if c.Outcome != "incomplete" || !strings.HasPrefix(c.Verdict, "incomplete: the client was still sending a 16.0 MiB ClientHello, ") || !strings.HasSuffix(c.Verdict, " of it sent, when the capture ended") {
		t.Errorf("%s: %s", c.Outcome, c.Verdict)
	}
}

// TestHandshakeBudget: connections each sending a ClientHello whose length
// says 262,140 bytes share a budget too small for them all; those over it
// say so, and the server's alert that ends each still makes it failed.
func TestHandshakeBudget(t *testing.T) {
	opts := flows.DefaultOptions
	opts.HandshakeBudget = 4 << 20
	conns, a, truth := hostile(t, "bighello", 0.01, opts)
	if a.BudgetExceeded() == 0 {
		t.Fatal("no connection over a 4 MiB budget")
	}
	over := 0
	for _, c := range conns {
		if c.Outcome != "failed" || !strings.Contains(c.Verdict, "server alert decode_error") {
			t.Fatalf("stream %d: %s, want failed by the server's decode_error", c.Stream, c.Verdict)
		}
		for _, f := range c.Findings {
			if f.Code == "handshake_budget" && strings.Contains(f.Message, "was still sending a ClientHello of 262144 bytes") {
				over++
			}
		}
	}
	if len(conns) != truth.RowCount() || int64(over) != a.BudgetExceeded() {
		t.Errorf("%d connections (truth %d), %d with the budget finding, %d over", len(conns), truth.RowCount(), over, a.BudgetExceeded())
	}
}
