package main

import (
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/report"
)

// TestOutcomePolicy: the exit status, the colours and what --write-failed
// writes, per outcome, as they were before they came from one table
// (flows.Outcome.Health).
func TestOutcomePolicy(t *testing.T) {
	for _, tc := range []struct {
		o           flows.Outcome
		exit1       bool
		color       string
		writeFailed bool
	}{
		{flows.Complete, false, "\x1b[32m", false},
		{flows.Resumed, false, "\x1b[32m", false},
		{flows.Failed, true, "\x1b[31m", true},
		{flows.Reset, true, "\x1b[31m", true},
		{flows.Closed, true, "\x1b[31m", true},
		{flows.Stalled, true, "\x1b[31m", true},
		{flows.Incomplete, false, "\x1b[33m", true},
		{flows.NotObserved, false, "\x1b[33m", false},
	} {
		if got := tc.o.Problem(); got != tc.exit1 {
			t.Errorf("%s: exit status 1 %v, want %v", tc.o, got, tc.exit1)
		}
		line := report.Line(&report.Connection{Outcome: string(tc.o), Verdict: string(tc.o)}, true)
		if !strings.HasSuffix(line, tc.color+string(tc.o)+"\x1b[0m") {
			t.Errorf("%s: line %q, want the verdict in %q", tc.o, line, tc.color)
		}
		if got := !tc.o.Good(); got != tc.writeFailed {
			t.Errorf("%s: written by --write-failed %v, want %v", tc.o, got, tc.writeFailed)
		}
	}
	if len(flows.Outcomes) != 8 {
		t.Errorf("%d outcomes: add the new ones here", len(flows.Outcomes))
	}
}
