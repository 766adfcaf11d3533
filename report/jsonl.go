package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes one JSON object per connection, one per line.
func WriteJSON(w io.Writer, conns []*Connection) error {
	jw := NewJSONWriter(w)
	for _, c := range conns {
		if err := jw.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// JSONWriter writes connections as JSON Lines as they come, reusing one
// buffer.
type JSONWriter struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	rec []byte // a connection's line (jsonRecord)
	// drops, when set, says at Close what the capturing side dropped.
	drops func() Drops
}

// NewJSONWriter writes to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	jw := &JSONWriter{w: w}
	jw.enc = json.NewEncoder(&jw.buf)
	return jw
}

// Write writes one connection as one line.
func (jw *JSONWriter) Write(c *Connection) error {
	rec, err := jsonRecord(jw.rec[:0], c)
	if err != nil {
		// encoding/json says what it cannot write.
		jw.buf.Reset()
		if err := jw.enc.Encode(c); err != nil {
			return err
		}
		return err
	}
	jw.rec = append(rec, '\n')
	_, err = jw.w.Write(escapeBidi(jw.rec))
	return err
}

// Close writes, when the capturing side said it dropped packets, a
// record of its own ("type": "drops"): every connection's line was
// written as it came.
func (jw *JSONWriter) Close() error {
	d, ok := drops(Options{Drops: jw.drops})
	if !ok {
		return nil
	}
	jw.buf.Reset()
	if err := jw.enc.Encode(newDropsRecord(d)); err != nil {
		return err
	}
	_, err := jw.w.Write(jw.buf.Bytes())
	return err
}

// escapeBidi writes Unicode bidirectional controls as \u escapes: the
// same JSON value, but a terminal showing the line cannot be made to
// reorder it.
func escapeBidi(b []byte) []byte {
	if !hasBidi(b) {
		return b
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		if isBidi(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.Bytes()
}

func isBidi(r rune) bool {
	return r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// hasBidi looks for the UTF-8 encodings of the bidirectional controls,
// E2 80 8E-8F, E2 80 AA-AE and E2 81 A6-A9, without decoding runes.
func hasBidi(b []byte) bool {
	for {
		i := bytes.IndexByte(b, 0xe2)
		if i < 0 || i+2 >= len(b) {
			return false
		}
		c1, c2 := b[i+1], b[i+2]
		if c1 == 0x80 && (c2 == 0x8e || c2 == 0x8f || c2 >= 0xaa && c2 <= 0xae) || c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9 {
			return true
		}
		b = b[i+1:]
	}
}
