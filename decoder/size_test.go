package decoder

import (
	"testing"
	"unsafe"
)

// TestConnSize: a flood keeps a Conn for each of up to 80,000
// connections; past 1024 bytes each takes the 1152-byte size class, 10 MB
// more of live heap (15 MB of peak RSS at GOGC 50). Put a new field of a
// connection without keys behind a pointer, or next to the small fields
// of its struct, rather than past the limit.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 1024 {
		t.Errorf("decoder.Conn is %d bytes, over the 1024-byte size class", n)
	}
}

// TestClientHelloSize: every connection of a flood of unanswered hellos
// holds its ClientHello; past 448 bytes each takes the 512-byte class (5 MB
// more of live heap for 80,000). DTLS-only fields live behind dtlsExt.
func TestClientHelloSize(t *testing.T) {
	if n := unsafe.Sizeof(ClientHello{}); n > 448 {
		t.Errorf("decoder.ClientHello is %d bytes, over the 448-byte size class", n)
	}
}
