package report

import (
	"cmp"
	"fmt"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// What the three ladders (text, Mermaid, HTML) share about transport
// events: how one is said, and the order of the rows.

// eventWords is a transport event's label and note (raw: the caller makes
// them safe). A run of retransmissions says how many, in which frames,
// and when the last one was sent: the sender was not silent until then.
func eventWords(r *flows.Result, e flows.Event) (label, note string) {
	label, note = r.EventLabel(e), e.Note
	if run := e.Run; run != nil && run.Count > 1 {
		label += fmt.Sprintf(" ×%d", run.Count)
		note = fmt.Sprintf("frames %d–%d, the last at %+.1f ms", e.Frame, run.LastFrame, float64(run.Last.Sub(r.Start).Microseconds())/1000)
	}
	return label, note
}

// eventEnd is when the sender of e was last heard in it: a run's last
// retransmission.
func eventEnd(r *flows.Result, e flows.Event) time.Duration {
	if run := e.Run; run != nil && run.Count > 1 {
		return run.Last.Sub(r.Start)
	}
	return e.Time.Sub(r.Start)
}

// ladderOrder orders rows by time, then by frame: rows of one instant
// keep the order of their packets, as Wireshark lists them (a gap is told
// at the segment after it, after the message of the segment before).
func ladderOrder(t1, t2 time.Duration, f1, f2 int64) int {
	if c := cmp.Compare(t1, t2); c != 0 || f1 == 0 || f2 == 0 {
		return c
	}
	return cmp.Compare(f1, f2)
}
