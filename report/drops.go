package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
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

// Drops is what the capturing side said it dropped, for the summaries:
// the kernel's of a live capture, or those the Interface Statistics
// Blocks of a pcapng say the tool that wrote it dropped.
type Drops struct {
	capture.Drops
	// Live: the counts are this run's kernel's; otherwise the capturing
	// tool's, as its files say.
	Live bool
}

// Said reports counts to say: a live capture's always (none dropped is
// worth knowing), a file's when it dropped some.
func (d Drops) Said() bool { return d.Live || d.Dropped() > 0 }

// Line says the drops in one sentence, as stderr and the summaries do:
// "1,124 packets dropped by the kernel (1.9%)".
func (d Drops) Line() string {
	by := "the kernel"
	if !d.Live {
		by = "the capturing tool's kernel"
	}
	var parts []string
	if d.Kernel > 0 || d.Interface == 0 {
		parts = append(parts, countWords(d.Kernel, "packet")+" dropped by "+by)
	}
	if d.Interface > 0 {
		iface := "the interface"
		if !d.Live {
			iface = "the capturing tool's interface"
		}
		parts = append(parts, countWords(d.Interface, "packet")+" dropped by "+iface)
	}
	line := strings.Join(parts, ", ")
	if p := d.percent(); p != "" {
		line += " (" + p + ")"
	}
	return line
}

// percent is the share of the packets that reached the capturing side
// that it dropped ("" when it did not say how many it received).
func (d Drops) percent() string {
	if d.Received == 0 {
		return ""
	}
	p := 100 * float64(d.Dropped()) / float64(d.Received+d.Dropped())
	if p > 0 && p < 0.05 {
		return "<0.1%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func countWords(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousandsU(n) + " " + noun + "s"
}

// drops is what Options.Drops says, if anything is to be said.
func drops(opts Options) (Drops, bool) {
	if opts.Drops == nil {
		return Drops{}, false
	}
	d := opts.Drops()
	return d, d.Said()
}

// dropsRecord is the JSON Lines record of the drops, after the
// connections (connection.schema.json, $defs/drops).
type dropsRecord struct {
	Type      string  `json:"type"` // "drops"
	By        string  `json:"by"`   // "kernel" (live), "capturing_tool" (pcapng)
	Received  *uint64 `json:"received,omitempty"`
	Kernel    uint64  `json:"kernel"`
	Interface uint64  `json:"interface"`
	Dropped   uint64  `json:"dropped"`
	Message   string  `json:"message"`
}

func newDropsRecord(d Drops) dropsRecord {
	r := dropsRecord{Type: "drops", By: "capturing_tool", Kernel: d.Kernel, Interface: d.Interface, Dropped: d.Dropped(), Message: d.Line()}
	if d.Live {
		r.By = "kernel"
	}
	if d.Received > 0 {
		n := d.Received
		r.Received = &n
	}
	return r
}
