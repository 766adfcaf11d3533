package report

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tlsscope/tlsscope/flows"
)

// A sequence is the ladder of a connection as a Mermaid sequenceDiagram,
// which GitHub and GitLab draw from a ```mermaid block. It is built from
// the connection's result (kept by Summarize) and written by
// writeMermaid, which makes every string from the capture inert.
type sequence struct {
	steps []seqStep
	more  int // steps left out in the middle, after the first seqHead
}

// seqStep is an arrow from one side to the other, or, with from == "",
// a note over both.
type seqStep struct {
	t     time.Duration
	at    bool   // t is known (notes of the end may have none)
	from  string // "client" or "server"; "" for a note
	arrow string // Mermaid arrow: ->> TLS, -->> TCP, -x alert or RST
	text  string // raw: capture strings made safe (Safe), not escaped
	frame int64  // Wireshark frame number, 0 when unknown
}

// A diagram of a long connection keeps its first seqHead and last seqTail
// steps: the handshake and how it ended.
const (
	seqHead = 24
	seqTail = 8
	// seqText bounds a capture string inside one arrow's label.
	seqText = 60
)

// sequenceOf builds the diagram of c, or returns the one Summarize kept.
func sequenceOf(c *Connection) *sequence {
	if c.seq != nil || c.result == nil {
		return c.seq
	}
	r := c.result
	var steps []seqStep
	for _, e := range r.Events {
		label, note := eventWords(r, e)
		st := seqStep{t: e.Time.Sub(r.Start), at: true, from: e.From.String(), arrow: "-->>", text: label, frame: e.Frame}
		switch e.Kind {
		case "RST", "CONNECTION_CLOSE":
			st.arrow = "--x"
		case "ICMP":
			st.arrow, st.text = "--x", "ICMP"
		}
		if note != "" {
			st.text += " (" + clipRunes(Safe(note), seqText) + ")"
		}
		steps = append(steps, st)
	}
	for _, m := range c.Messages {
		st := seqStep{t: time.Duration(m.TMS * float64(time.Millisecond)), at: true, from: m.From, arrow: "->>", text: m.Type, frame: m.Frame}
		if m.Encrypted && m.Type != "ApplicationData" {
			st.text += " (encrypted)"
		}
		if m.Note != "" {
			st.text += " " + clipRunes(Safe(m.Note), seqText)
		}
		if m.Length > 0 {
			st.text += " [" + strconv.Itoa(m.Length) + " bytes]"
		}
		switch {
		case m.Undelivered:
			st.arrow, st.text = "-x", st.text+", never received (lost in the network)"
		case m.Type == "Alert":
			st.arrow = "-x"
		}
		steps = append(steps, st)
	}
	slices.SortStableFunc(steps, func(a, b seqStep) int { return ladderOrder(a.t, b.t, a.frame, b.frame) })
	// The silence the verdict is about, where it began (RFC 8446 §4: the
	// side that owes the next message of the handshake).
	if s := r.Stall; s != nil && s.SendingLen == 0 && !s.Since.IsZero() && silenceTold(r) {
		at := s.Since.Sub(r.Start)
		i := sort.Search(len(steps), func(i int) bool { return steps[i].t > at })
		note := seqStep{t: at, at: true, text: s.Waiting.String() + " silent " + seconds(s.Silent) + " (owes " + s.Next.String() + ")"}
		if l := lossOf(r, s.Waiting); l != "" {
			// It sent, but the network lost it: the peer waited.
			note.text = s.Waiting.Other().String() + " waited " + seconds(s.Silent) + " for " + owedWords(r) + ", " + l
		}
		steps = append(steps[:i], append([]seqStep{note}, steps[i:]...)...)
	} else if s != nil && s.SendingLen > 0 {
		steps = append(steps, seqStep{text: s.Waiting.String() + " still sending " + sendingWords(s)})
	}
	if r.OneSided {
		steps = append(steps, seqStep{text: "no packet from the " + r.Missing.String() + " in the capture (one-sided)"})
	}
	if a := notTLSAnswer(r.HS); a != "" {
		// Not a TLS message, so not in the ladder: before the first close.
		i := slices.IndexFunc(steps, func(st seqStep) bool { return st.text == "TCP FIN" || st.text == "TCP RST" })
		if i < 0 {
			i = len(steps)
		}
		steps = slices.Insert(steps, i, seqStep{from: "server", arrow: "->>", text: "answer not TLS: " + a})
	}
	switch r.EndedBy {
	case flows.EndedCaptureEnd:
		steps = append(steps, seqStep{text: "capture ends, connection still open"})
	case flows.EndedIdle:
		steps = append(steps, seqStep{text: "no packet for the idle timeout: no longer followed"})
	case flows.EndedOpen:
		steps = append(steps, seqStep{text: "still open when the verdict was said (live)"})
	case flows.EndedICMP:
		if len(r.ICMP) > 0 && !slices.ContainsFunc(r.Events, func(e flows.Event) bool { return e.Kind == "ICMP" }) {
			e := r.ICMP[0]
			steps = append(steps, seqStep{text: "ICMP " + e.Kind() + " from " + e.From.String()})
		}
	}
	q := &sequence{steps: steps}
	if n := len(steps); n > seqHead+seqTail {
		q.more = n - seqHead - seqTail
		q.steps = append(steps[:seqHead:seqHead], steps[n-seqTail:]...)
	} else {
		q.steps = steps[:n:n]
	}
	if r.HS != nil {
		q.more += int(r.HS.MessagesDropped)
	}
	return q
}

// silenceTold reports whether the verdict's reason is the stall's
// silence: a stall, a capture that ended in it, or a side that gave up
// waiting; not what the capture lacks, a refusal or a close by the owing
// side.
func silenceTold(r *flows.Result) bool {
	switch k := r.Reason.Kind; {
	case k.Unknown():
		return false
	case k == flows.ReasonGaveUp:
		return true
	}
	return r.Outcome == flows.Stalled || r.Outcome == flows.Incomplete
}

// writeMermaid writes the diagram as a fenced block.
func writeMermaid(b *strings.Builder, q *sequence, client, server string) {
	b.WriteString("```mermaid\nsequenceDiagram\n")
	b.WriteString("    participant C as client " + mermaidText(client) + "\n")
	b.WriteString("    participant S as server " + mermaidText(server) + "\n")
	for i, st := range q.steps {
		if q.more > 0 && i == min(seqHead, len(q.steps)) {
			b.WriteString("    Note over C,S: " + strconv.Itoa(q.more) + " more steps not drawn\n")
		}
		label := st.text
		if st.at {
			label = strconv.FormatFloat(float64(st.t.Microseconds())/1000, 'f', 1, 64) + " ms " + label
			if st.t >= 0 {
				label = "+" + label
			}
		}
		if st.frame > 0 {
			label += " (frame " + strconv.FormatInt(st.frame, 10) + ")"
		}
		switch st.from {
		case "client":
			b.WriteString("    C" + st.arrow + "S: " + mermaidText(label) + "\n")
		case "server":
			b.WriteString("    S" + st.arrow + "C: " + mermaidText(label) + "\n")
		default:
			b.WriteString("    Note over C,S: " + mermaidText(label) + "\n")
		}
	}
	if q.more > 0 && len(q.steps) <= seqHead {
		b.WriteString("    Note over C,S: " + strconv.Itoa(q.more) + " more steps not drawn\n")
	}
	b.WriteString("```\n")
}

// mermaidText makes a label inert in a sequenceDiagram: Mermaid ends a
// statement at ';', newline and '#', reads #…; as an entity, <br> and
// other HTML as markup, %% as a comment, and the Markdown fence ends at
// ```. Letters, digits and a few plain marks pass; every other character
// becomes Mermaid's entity code #N; (drawn as the character itself).
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'),
			strings.ContainsRune(" .,+-()/=_[]'", r),
			r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		default:
			b.WriteString("#" + strconv.Itoa(int(r)) + ";")
		}
	}
	return b.String()
}

// clipRunes cuts s to n runes, marking the cut.
func clipRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
