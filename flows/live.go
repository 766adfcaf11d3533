package flows

import (
	"math"
	"time"
)

// Live mode: stalls said while the connection is open.

// Tick tells a live analysis the time when no packet came: idle
// connections expire, and a handshake whose owed side has been silent
// for the stall timeout is reported as stalled while still open; its
// final record follows, marked as an update, when it ends.
func (a *Analyzer) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	if a.now.Sub(a.lastSweep) >= time.Second {
		a.sweep()
	}
	if !a.opts.Live || a.OnResult == nil {
		return
	}
	// Live only: a side may be silent while its peer keeps the connection
	// busy (retransmitting a ClientHello), so the whole lists are looked
	// at, bounded by MaxConnections, when the earliest silence reaches the
	// stall timeout, and no more often than stallScanGap.
	if a.now.Before(a.stallDue) || a.now.Sub(a.lastStallScan) < stallScanGap {
		return
	}
	a.lastStallScan = a.now
	// A connection that begins after this scan stalls no sooner than this.
	due := a.now.Add(a.opts.StallTimeout)
	nowNs := a.now.UnixNano()
	for _, l := range a.stallLists {
		for c := l.head; c != nil; c = c.lk.next {
			if c.reported || c.finished || !c.self.mayStall() {
				continue
			}
			if seen := c.last.UnixNano(); c.stallSeen == seen && c.stallAt > nowNs {
				// No packet since its deadline was worked out.
				due = earlier(due, time.Unix(0, c.stallAt))
				continue
			}
			last := c.last
			c.last = a.now // judge up to now
			r := c.self.judge(a)
			c.last = last
			if r == nil || r.Outcome != Stalled {
				// Not stalled: looked at again when its owing side's
				// silence reaches the timeout, or, when it has and that
				// did not make a stall (a capture missing a side), after
				// its next packet.
				c.stallAt, c.stallSeen = math.MaxInt64, last.UnixNano()
				if r != nil && r.Stall != nil {
					if at := r.Stall.Since.Add(a.opts.StallTimeout); at.After(a.now) {
						c.stallAt = at.UnixNano()
						due = earlier(due, at)
					}
				}
				continue
			}
			r.ClosedBy = nil
			a.sayOpen(c, r, true)
		}
	}
	a.stallDue = due
}

// sayOpen hands over, live, the verdict of a connection still open; a
// provisional one (a stall) is updated by its final result.
func (a *Analyzer) sayOpen(c *lifecycle, r *Result, provisional bool) {
	r.Open, r.EndedBy = true, EndedOpen
	c.reported, c.provisional = true, provisional
	a.OnResult(r)
}

// stallScanGap bounds how often live mode looks for stalls (each look
// judges every handshake whose deadline passed or whose packets changed
// it): a stall is said at most this late.
const stallScanGap = 50 * time.Millisecond

func earlier(x, y time.Time) time.Time {
	if y.Before(x) {
		return y
	}
	return x
}
