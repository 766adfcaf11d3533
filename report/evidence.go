package report

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// The frames a finding rests on, found in the connection's transport
// events and TLS messages: each is the Wireshark frame.number of the
// packet that showed it.

// eventFrames are the frames of r's events of kind, from any side or from
// the sides given.
func eventFrames(r *flows.Result, kind string, from ...decoder.Side) []int64 {
	var out []int64
	for _, e := range r.Events {
		if e.Kind == kind && e.Frame > 0 && (len(from) == 0 || slices.Contains(from, e.From)) {
			out = append(out, e.Frame)
		}
	}
	return out
}

// msgFrames is the frame of the first message of from of one of types.
func msgFrames(hs *decoder.Handshake, from decoder.Side, types ...decoder.MsgType) []int64 {
	if m := hs.First(from, types...); m != nil && m.Frame > 0 {
		return []int64{m.Frame}
	}
	return nil
}

// certFrames is the frame of the server's Certificate message (SSL 2.0:
// its ServerHello, which carries the certificate).
func certFrames(hs *decoder.Handshake) []int64 {
	if f := msgFrames(hs, decoder.Server, decoder.MsgCertificate, decoder.MsgCompressedCertificate); f != nil {
		return f
	}
	return msgFrames(hs, decoder.Server, decoder.MsgServerHello)
}

// alertFrame is the frame of the alert record a, or 0.
func alertFrame(hs *decoder.Handshake, a decoder.Alert) int64 {
	var later int64
	for _, m := range hs.Messages {
		if m.Type != decoder.MsgAlert || m.From != a.From {
			continue
		}
		if m.Time.Equal(a.Time) {
			return m.Frame
		}
		if later == 0 && m.Time.After(a.Time) {
			later = m.Frame
		}
	}
	return later
}

// lastDelivered is the frame of the last message its peer received, from
// one of sides (any side when none is given), or 0.
func lastDelivered(hs *decoder.Handshake, sides ...decoder.Side) int64 {
	for i := len(hs.Messages) - 1; i >= 0; i-- {
		if m := hs.Messages[i]; !m.Undelivered && m.Frame > 0 && (len(sides) == 0 || slices.Contains(sides, m.From)) {
			return m.Frame
		}
	}
	return 0
}

// lastDataFrames is the frame of side's last message, whose
// acknowledgement the capture lacks.
func lastDataFrames(r *flows.Result, side decoder.Side) []int64 {
	if f := lastDelivered(r.HS, side); f > 0 {
		return []int64{f}
	}
	return nil
}

// firstFrame is the connection's first frame the report knows of.
func firstFrame(r *flows.Result) int64 {
	var first int64
	note := func(f int64) {
		if f > 0 && (first == 0 || f < first) {
			first = f
		}
	}
	for _, e := range r.Events {
		note(e.Frame)
	}
	for _, m := range r.HS.Messages {
		note(m.Frame)
	}
	return first
}

// icmpFrames are the frames of ICMP error i and of the same error that
// followed it for the next retransmissions (one finding says them all).
func icmpFrames(r *flows.Result, i int) []int64 {
	out := []int64{r.ICMP[i].Frame}
	for j := i + 1; j < len(r.ICMP) && r.ICMP[j].Kind() == r.ICMP[i].Kind() && r.ICMP[j].From == r.ICMP[i].From; j++ {
		out = append(out, r.ICMP[j].Frame)
	}
	return out
}

// clientInitialFrames are the frames of the client's Initials: the first
// (its ClientHello) and those it sent again.
func clientInitialFrames(r *flows.Result) []int64 {
	return append(msgFrames(r.HS, decoder.Client, decoder.MsgClientHello), eventFrames(r, "Initial again", decoder.Client)...)
}

// retransmissionsBefore are the frames of side's retransmissions of bytes
// before stream offset end (the event's note says "seq N, M bytes",
// relative as Wireshark numbers them, as the messages' offsets are).
func retransmissionsBefore(r *flows.Result, side decoder.Side, end int64) []int64 {
	var out []int64
	for _, e := range r.Events {
		if e.Kind != "retransmission" || e.From != side || e.Frame == 0 {
			continue
		}
		seq, _, _ := strings.Cut(strings.TrimPrefix(e.Note, "seq "), ",")
		if n, err := strconv.ParseInt(seq, 10, 64); err == nil && n < end {
			out = append(out, e.Frame)
		}
	}
	return out
}

// clientHelloRetransmissions are the frames that sent the ClientHello's
// bytes again.
func clientHelloRetransmissions(r *flows.Result) []int64 {
	ch := r.HS.First(decoder.Client, decoder.MsgClientHello)
	if ch == nil {
		return nil
	}
	return retransmissionsBefore(r, decoder.Client, ch.End)
}

// serverFlightRetransmissions are the frames that sent the server's first
// flight (its messages after the ClientHello, up to the client's next
// one) again.
func serverFlightRetransmissions(r *flows.Result) []int64 {
	var end int64 = -1
	seenHello := false
	for _, m := range r.HS.Messages {
		if !seenHello {
			seenHello = m.From == decoder.Client && m.Type == decoder.MsgClientHello
			continue
		}
		if m.From == decoder.Client {
			if end >= 0 {
				break
			}
			continue
		}
		end = m.End
	}
	return retransmissionsBefore(r, decoder.Server, end)
}
