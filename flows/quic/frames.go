package quic

import (
	"errors"
	"fmt"
)

// FrameKind is what ParseFrames tells apart (RFC 9000 §19).
type FrameKind uint8

const (
	FramePadding         FrameKind = iota // a run of PADDING frames
	FramePing                             // PING
	FrameAck                              // ACK, ACK_ECN
	FrameCrypto                           // CRYPTO
	FrameNewToken                         // NEW_TOKEN
	FrameConnectionClose                  // CONNECTION_CLOSE 0x1c and 0x1d
	FrameHandshakeDone                    // HANDSHAKE_DONE
	FrameOther                            // any other known frame, skipped
	FrameNewConnectionID                  // NEW_CONNECTION_ID
)

var frameKindNames = [...]string{"PADDING", "PING", "ACK", "CRYPTO", "NEW_TOKEN", "CONNECTION_CLOSE", "HANDSHAKE_DONE", "other", "NEW_CONNECTION_ID"}

func (k FrameKind) String() string {
	if int(k) < len(frameKindNames) {
		return frameKindNames[k]
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// Frame is one frame of a decrypted payload. Which fields are set depends
// on Kind; Data points into the payload.
type Frame struct {
	Type uint64 // the frame type on the wire
	Kind FrameKind
	// Count is the number of PADDING frames in the run.
	Count int
	// ACK (§19.3): the largest acknowledged, the ACK Delay as sent, the
	// First ACK Range, the number of further ranges and the smallest
	// packet number acknowledged. ECN holds ACK_ECN's ECT0, ECT1 and CE
	// counts.
	Largest, Delay, FirstRange, Ranges, Smallest uint64
	ECN                                          [3]uint64
	// Low is the set of packet numbers below 64 that any of the ACK's
	// ranges acknowledges (bit n: packet n): a handshake's first packets.
	Low uint64
	// Offset is a CRYPTO frame's offset in the stream (§19.6), or a
	// NEW_CONNECTION_ID's sequence number (§19.15).
	Offset uint64
	// ErrorCode and FrameType are a CONNECTION_CLOSE's (§19.19);
	// FrameType is 0 for the application's (0x1d).
	ErrorCode, FrameType uint64
	// Data is a CRYPTO frame's data, a NEW_TOKEN's token, a
	// CONNECTION_CLOSE's reason phrase or a NEW_CONNECTION_ID's ID.
	Data []byte
}

// Application reports whether a CONNECTION_CLOSE is the application's
// (type 0x1d), whose code is not a transport error.
func (f *Frame) Application() bool { return f.Type == 0x1d }

var errFrameTruncated = errors.New("truncated")

// frameReader reads a payload; a read past its end sets bad.
type frameReader struct {
	b   []byte
	pos int
	bad bool
}

func (r *frameReader) varint() uint64 {
	v, n := readVarint(r.b[r.pos:])
	if n == 0 {
		r.bad = true
		r.pos = len(r.b)
	}
	r.pos += n
	return v
}

func (r *frameReader) bytes(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)-r.pos) {
		r.bad = true
		r.pos = len(r.b)
		return nil
	}
	r.pos += int(n)
	return r.b[r.pos-int(n) : r.pos]
}

// ParseFrames calls fn with each frame of a decrypted packet payload (RFC
// 9000 §12.4, §19), in order. It stops at fn's first error, which it
// returns, and at a frame it cannot read: a truncated one, or an unknown
// type, with an error that names it.
func ParseFrames(payload []byte, fn func(Frame) error) error {
	r := frameReader{b: payload}
	for r.pos < len(r.b) {
		start := r.pos
		f := Frame{Type: r.varint()}
		if r.bad {
			return fmt.Errorf("quic: frame at offset %d: type: %w", start, errFrameTruncated)
		}
		if err := r.frame(&f); err != nil {
			return fmt.Errorf("quic: frame type %#x at offset %d: %w", f.Type, start, err)
		}
		if r.bad {
			return fmt.Errorf("quic: frame type %#x at offset %d: %w", f.Type, start, errFrameTruncated)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// frame reads the body of f, whose type is read.
func (r *frameReader) frame(f *Frame) error {
	switch t := f.Type; {
	case t == 0x00: // PADDING, §19.1: runs are common, read as one
		f.Kind, f.Count = FramePadding, 1
		for r.pos < len(r.b) && r.b[r.pos] == 0 {
			r.pos++
			f.Count++
		}
	case t == 0x01: // PING, §19.2
		f.Kind = FramePing
	case t == 0x02 || t == 0x03: // ACK, §19.3
		f.Kind = FrameAck
		return r.ack(f)
	case t == 0x06: // CRYPTO, §19.6
		f.Kind = FrameCrypto
		f.Offset = r.varint()
		f.Data = r.bytes(r.varint())
		if !r.bad && f.Offset+uint64(len(f.Data)) >= 1<<62 {
			return errors.New("CRYPTO data ends past 2^62-1")
		}
	case t == 0x07: // NEW_TOKEN, §19.7
		f.Kind = FrameNewToken
		f.Data = r.bytes(r.varint())
	case t == 0x1c || t == 0x1d: // CONNECTION_CLOSE, §19.19
		f.Kind = FrameConnectionClose
		f.ErrorCode = r.varint()
		if t == 0x1c {
			f.FrameType = r.varint()
		}
		f.Data = r.bytes(r.varint())
	case t == 0x1e: // HANDSHAKE_DONE, §19.20
		f.Kind = FrameHandshakeDone
	case t == 0x18: // NEW_CONNECTION_ID, §19.15: a peer may move to it
		f.Kind = FrameNewConnectionID
		f.Offset = r.varint() // its sequence number
		r.varint()            // Retire Prior To
		n := r.bytes(1)
		if r.bad {
			return nil
		}
		if n[0] < 1 || n[0] > maxCIDLen {
			return fmt.Errorf("NEW_CONNECTION_ID length %d", n[0])
		}
		f.Data = r.bytes(uint64(n[0]))
		r.bytes(16) // its Stateless Reset Token
	default:
		f.Kind = FrameOther
		return r.skip(t)
	}
	return nil
}

// ack reads an ACK frame, counting its ranges without keeping them.
func (r *frameReader) ack(f *Frame) error {
	f.Largest = r.varint()
	f.Delay = r.varint()
	f.Ranges = r.varint()
	f.FirstRange = r.varint()
	if r.bad {
		return nil
	}
	if f.FirstRange > f.Largest {
		return fmt.Errorf("ACK first range %d below packet number 0 (largest %d)", f.FirstRange, f.Largest)
	}
	smallest := f.Largest - f.FirstRange
	f.Low = lowBits(smallest, f.Largest)
	// Each range is at least 2 bytes, which bounds the loop by the payload.
	for i := uint64(0); i < f.Ranges && !r.bad; i++ {
		gap, n := r.varint(), r.varint()
		// §19.3.1: the next largest is smallest - gap - 2.
		if smallest < gap+2 || smallest-gap-2 < n {
			if !r.bad {
				return fmt.Errorf("ACK range %d runs below packet number 0", i+1)
			}
			break
		}
		largest := smallest - gap - 2
		smallest = largest - n
		f.Low |= lowBits(smallest, largest)
	}
	f.Smallest = smallest
	if f.Type == 0x03 {
		for i := range f.ECN {
			f.ECN[i] = r.varint()
		}
	}
	return nil
}

// lowBits is the set of packet numbers below 64 in [lo, hi].
func lowBits(lo, hi uint64) uint64 {
	if lo >= 64 {
		return 0
	}
	hi = min(hi, 63)
	return (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
}

// skip reads past the other frames of RFC 9000 §19 and DATAGRAM (RFC
// 9221 §4).
func (r *frameReader) skip(t uint64) error {
	switch {
	case t == 0x04: // RESET_STREAM
		r.varint()
		r.varint()
		r.varint()
	case t == 0x05 || t == 0x11 || t == 0x15: // STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED
		r.varint()
		r.varint()
	case t >= 0x08 && t <= 0x0f: // STREAM, §19.8: OFF, LEN and FIN bits
		r.varint()
		if t&0x04 != 0 {
			r.varint()
		}
		if t&0x02 != 0 {
			r.bytes(r.varint())
		} else {
			r.pos = len(r.b)
		}
	case t == 0x10 || t == 0x12 || t == 0x13 || t == 0x14 || t == 0x16 || t == 0x17 || t == 0x19:
		// MAX_DATA, MAX_STREAMS, DATA_BLOCKED, STREAMS_BLOCKED,
		// RETIRE_CONNECTION_ID: one integer.
		r.varint()
	case t == 0x18: // NEW_CONNECTION_ID, §19.15
		r.varint()
		r.varint()
		n := r.bytes(1)
		if r.bad {
			return nil
		}
		if n[0] < 1 || n[0] > maxCIDLen {
			return fmt.Errorf("NEW_CONNECTION_ID length %d", n[0])
		}
		r.bytes(uint64(n[0]) + 16) // the ID and its Stateless Reset Token
	case t == 0x1a || t == 0x1b: // PATH_CHALLENGE, PATH_RESPONSE
		r.bytes(8)
	case t == 0x30: // DATAGRAM without length: to the end
		r.pos = len(r.b)
	case t == 0x31:
		r.bytes(r.varint())
	default:
		return errors.New("unknown frame type")
	}
	return nil
}
