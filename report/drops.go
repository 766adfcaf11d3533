package report

import (
	"strconv"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// droppedWords is how many packets a connection lived through the drops
// of: "3 packets".
func droppedWords(d *flows.CaptureDrops) string {
	if d == nil {
		return "packets"
	}
	if d.Count == 1 {
		return "1 packet"
	}
	return thousandsU(d.Count) + " packets"
}

// thousandsU is thousands for a count that may not fit an int.
func thousandsU(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// captureDropsFinding: the capturing side dropped packets while the
// connection was open, which its verdict takes into account (flows:
// capture_dropped when it would have rested on silence).
func captureDropsFinding(x *checkRun) {
	r := x.r
	d := r.Drops
	if d == nil {
		return
	}
	when := "by " + clock(d.To)
	if !d.From.IsZero() && d.From.Before(d.To) {
		when = "between " + clock(d.From) + " and " + clock(d.To)
	}
	msg := "The capture dropped " + droppedWords(d) + " while this connection was open (counted " + when + "; the counters do not say whose)"
	switch {
	case r.Reason.Kind == flows.ReasonCaptureDropped && r.Stall != nil:
		msg += ": the " + r.Stall.Waiting.String() + "'s silence may be packets the capture never saw, so the handshake is judged incomplete, not stalled, reset or closed."
	case r.Reason.Kind == flows.ReasonCaptureDropped:
		msg += ": what is missing may be packets the capture never saw, so the handshake is judged incomplete."
	default:
		msg += "; the verdict rests on what was seen."
	}
	x.add(FindingCaptureDrops, []int64{d.Frame}, "%s", msg)
}

// clock is a time of day, UTC, to the millisecond.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }
