package report

import (
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// liveTimeLayout is the time a live line starts with, as tcpdump's.
const liveTimeLayout = "15:04:05.000"

// liveTime is the capture time of a connection's verdict, in local time
// as tcpdump prints it, and two spaces; "" when not known.
func liveTime(c *Connection) string {
	if c.result == nil {
		return ""
	}
	t := verdictTime(c.result)
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(liveTimeLayout) + "  "
}

// verdictTime is when a result's verdict was known, on the capture's
// clock: its last packet, or for a stall the moment its silence reached
// the stall timeout (live, a tick of the wall clock after the last packet).
func verdictTime(r *flows.Result) time.Time {
	t := r.End
	if s := r.Stall; s != nil && s.Since.Add(s.Silent).After(t) {
		t = s.Since.Add(s.Silent)
	}
	return t
}
