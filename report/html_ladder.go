package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// The ladder of one connection as an SVG: a lifeline for the client and
// one for the server, an arrow per TCP event and TLS message at the time
// the capture saw it, time running down. Rows are evenly spaced, not to
// scale: what the reader needs is the order and the silences, so a
// silence is a band of fixed height that says its duration, and a 30 s
// stall costs no more room than a 300 ms one.

const (
	ladderMaxSteps = 80                     // arrows drawn; the rest are counted
	ladderSilence  = 250 * time.Millisecond // a gap this long is a band
	ladderWidth    = 720
	ladderTimeX    = 86  // right edge of the time labels
	ladderClientX  = 170 // client lifeline
	ladderServerX  = 620 // server lifeline
	ladderTop      = 44  // below the lifelines' names
	ladderRow      = 28
	ladderBandH    = 36
)

// htmlLadder is what the HTML report keeps of a connection to draw it:
// a few KB, for the worst connections only.
type htmlLadder struct {
	Stream   flows.StreamID
	Client   string
	Server   string
	Verdict  string
	Tone     string
	Outcome  string
	Filter   string
	Facts    []string // SNI, version, suite: "SNI shop.example"
	Findings []Finding
	Steps    []ladderStep
	Bands    []ladderBand
	More     int // steps not drawn
	Height   int
	rank     int
}

// ladderStep is one arrow (or mark) of the ladder.
type ladderStep struct {
	Y      int
	T      string // "+20.1 ms"
	Label  string
	Kind   string // msg, tcp, alert, rst, icmp, caploss, netloss, end
	X1, X2 int    // the arrow, from the sender's lifeline
	LX     int    // the label's middle
	Lost   bool   // stops half way: lost in the network or never delivered
	MidX   int
	RX, RW int    // the box of a capture loss
	Head   string // the arrow head's points
	Short  string // Label cut to fit between the lifelines
}

// ladderLabel is how many characters fit between the lifelines.
const ladderLabel = 64

// ladderBand is a long stretch between two rows: the lifelines are broken
// and it says how long. Class is "silence", or "retrans" when a side was
// retransmitting across it (waiting out its retransmission timer, RFC
// 6298): that side was not silent.
type ladderBand struct {
	X, W  int
	Y, H  int
	Label string
	LY    int
	Class string
}

// Width and the lifelines' places, for the template.
func (l *htmlLadder) Width() int     { return ladderWidth }
func (l *htmlLadder) ClientX() int   { return ladderClientX }
func (l *htmlLadder) ServerX() int   { return ladderServerX }
func (l *htmlLadder) TimeX() int     { return ladderTimeX }
func (l *htmlLadder) Anchor() string { return l.Stream.Anchor() }

type rawStep struct {
	t     time.Duration
	end   time.Duration // a run of retransmissions: the last one
	frame int64
	from  string
	kind  string
	label string
	lost  bool
	retx  bool // a retransmission
}

// buildLadder draws c, which must still hold its messages (Build's
// result, not yet summarized).
func buildLadder(c *Connection) *htmlLadder {
	id := c.ID()
	l := &htmlLadder{Stream: id, Client: c.Client, Server: c.Server, Verdict: Safe(c.Verdict),
		Outcome: c.Outcome, Tone: toneClass(c.Outcome), Filter: id.DisplayFilter(), rank: rank(c)}
	if ch := c.ClientHello; ch != nil && ch.SNI != "" {
		l.Facts = append(l.Facts, "SNI "+Safe(ch.SNI))
	}
	if c.Version != "" {
		l.Facts = append(l.Facts, c.Version)
	}
	if sh := c.ServerHello; sh != nil && sh.CipherSuite != "" {
		l.Facts = append(l.Facts, sh.CipherSuite)
	}
	for _, f := range c.Findings {
		l.Findings = append(l.Findings, Finding{Severity: f.Severity, Code: f.Code, Message: withFrames(SafeText(f.Message), f.Frames)})
	}
	var steps []rawStep
	if r := c.result; r != nil {
		for _, e := range r.Events {
			label, note := eventWords(r, e)
			s := rawStep{t: e.Time.Sub(r.Start), end: eventEnd(r, e), frame: e.Frame, from: e.From.String(), kind: "tcp", label: label, retx: e.Kind == "retransmission"}
			switch e.Kind {
			case "RST", "CONNECTION_CLOSE":
				s.kind = "rst"
			case "ICMP":
				s.kind, s.label = "icmp", "ICMP"
			case "gap":
				s.kind, s.label = "caploss", "capture loss"
			case "loss":
				s.kind, s.label, s.lost = "netloss", "network loss", true
			}
			if note != "" {
				s.label += " (" + Safe(note) + ")"
			}
			if e.Frame > 0 {
				s.label += " #" + strconv.FormatInt(e.Frame, 10)
			}
			if e.Frame > 0 {
				s.label += " #" + strconv.FormatInt(e.Frame, 10)
			}
			steps = append(steps, s)
		}
	}
	for _, m := range c.Messages {
		s := rawStep{t: time.Duration(m.TMS * float64(time.Millisecond)), frame: m.Frame, from: m.From, kind: "msg", label: m.Type}
		s.end = s.t
		if m.Type == "Alert" {
			s.kind = "alert"
		}
		if m.Encrypted && m.Type != "ApplicationData" {
			s.label += " (encrypted)"
		}
		if m.Note != "" {
			s.label += " " + Safe(m.Note)
		}
		if m.Length > 0 {
			s.label += " [" + strconv.Itoa(m.Length) + " B]"
		}
		if m.Frame > 0 {
			s.label += " #" + strconv.FormatInt(m.Frame, 10)
		}
		if m.Undelivered {
			if m.Note == "" {
				s.label += " (never delivered)"
			}
			s.lost = true
		}
		steps = append(steps, s)
	}
	slices.SortStableFunc(steps, func(a, b rawStep) int { return ladderOrder(a.t, b.t, a.frame, b.frame) })
	if len(steps) > ladderMaxSteps {
		l.More = len(steps) - ladderMaxSteps
		steps = steps[:ladderMaxSteps]
	}
	end := rawStep{t: time.Duration(c.DurationMS * float64(time.Millisecond)), kind: "end", label: endWords(c)}
	if len(steps) > 0 && end.t < steps[len(steps)-1].t {
		end.t = steps[len(steps)-1].t
	}
	end.end = end.t
	steps = append(steps, end)
	l.layout(steps, c)
	return l
}

// layout gives each step its row and each long stretch its band; the
// longest silence of a stalled handshake says who owed what.
func (l *htmlLadder) layout(steps []rawStep, c *Connection) {
	y := ladderTop
	var prev, longest time.Duration
	stallBand := -1
	// Each side's retransmissions, first to last: a stretch inside is one
	// of retransmission, not of silence.
	var retx [2]struct {
		from, to time.Duration
		set      bool
	}
	for _, s := range steps {
		if s.retx {
			x := &retx[sideIndex(s.from)]
			if !x.set {
				x.from, x.set = s.t, true
			}
			x.to = max(x.to, s.end)
		}
	}
	for i, s := range steps {
		if gap := s.t - prev; i > 0 && gap >= ladderSilence {
			// Between the previous row's arrow and this row's label.
			top := y - ladderRow + 10
			b := ladderBand{X: ladderTimeX + 6, W: ladderServerX + 40 - ladderTimeX - 6, Y: top, H: ladderBandH - 2, Label: "silence " + seconds(gap), LY: top + ladderBandH/2 + 3, Class: "silence"}
			for side, x := range retx {
				if x.set && x.from <= prev && s.t <= x.to {
					b.Class, b.Label = "retrans", sideName(side)+" retransmitting ("+seconds(gap)+")"
				}
			}
			l.Bands = append(l.Bands, b)
			if gap > longest && b.Class == "silence" {
				longest, stallBand = gap, len(l.Bands)-1
			}
			y += ladderBandH
		}
		prev = max(prev, s.end)
		st := ladderStep{Y: y, T: fmt.Sprintf("%+.1f ms", float64(s.t.Microseconds())/1000), Label: s.label, Kind: s.kind, Lost: s.lost}
		switch {
		case s.kind == "end":
			st.X1, st.X2 = ladderClientX, ladderServerX
		case s.from == "client":
			st.X1, st.X2 = ladderClientX, ladderServerX
		default:
			st.X1, st.X2 = ladderServerX, ladderClientX
		}
		st.MidX = (st.X1 + st.X2) / 2
		if st.Lost {
			st.X2 = st.MidX // the arrow stops where the network lost it
		}
		st.LX = (ladderClientX + ladderServerX) / 2
		st.RX, st.RW = min(st.X1, st.X2), max(st.X1, st.X2)-min(st.X1, st.X2)
		dir := 1
		if st.X2 < st.X1 {
			dir = -1
		}
		st.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", st.X2, st.Y, st.X2-8*dir, st.Y-4, st.X2-8*dir, st.Y+4)
		st.Short = st.Label
		if r := []rune(st.Label); len(r) > ladderLabel {
			st.Short = string(r[:ladderLabel-1]) + "…"
		}
		l.Steps = append(l.Steps, st)
		y += ladderRow
	}
	if s := c.Stall; s != nil && stallBand >= 0 {
		l.Bands[stallBand].Label += ": " + Safe(s.WaitingFor) + " owes " + Safe(s.Next)
	}
	l.Height = y + 8
}

func sideIndex(from string) int {
	if from == "server" {
		return 1
	}
	return 0
}

func sideName(i int) string {
	if i == 1 {
		return "server"
	}
	return "client"
}

// endWords says how the connection ended in the capture.
func endWords(c *Connection) string {
	switch c.EndedBy {
	case "capture_end":
		return "end: the capture ends"
	case "fin", "rst":
		return "end: connection closed by " + orDash(c.ClosedBy) + " (" + strings.ToUpper(c.EndedBy) + ")"
	case "idle":
		return "end: idle, no more packets"
	case "icmp":
		return "end: refused by ICMP"
	case "open":
		return "end: still open"
	}
	return "end"
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
