package quic

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
)

// frames concatenates frame encodings built with appendVarint.
func frames(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func vi(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = appendVarint(b, v, 1)
	}
	return b
}

func collect(t *testing.T, payload []byte) ([]Frame, error) {
	t.Helper()
	var fs []Frame
	err := ParseFrames(payload, func(f Frame) error {
		fs = append(fs, f)
		return nil
	})
	return fs, err
}

// TestParseFramesKinds reads one frame of each kind, and the others by
// their lengths (RFC 9000 §19, RFC 9221 §4).
func TestParseFramesKinds(t *testing.T) {
	payload := frames(
		[]byte{0, 0, 0},                     // PADDING x3
		vi(0x01),                            // PING
		vi(0x02, 100, 25, 2, 3, 1, 4, 0, 2), // ACK 97-100, 90-94, 86-88 (§19.3.1)
		vi(0x03, 10, 0, 0, 10, 5, 6, 7),     // ACK_ECN 0-10
		vi(0x06, 1000, 3), []byte("abc"),    // CRYPTO
		vi(0x07, 2), []byte{0xde, 0xad}, // NEW_TOKEN
		vi(0x04, 1, 2, 3),                 // RESET_STREAM
		vi(0x05, 1, 2),                    // STOP_SENDING
		vi(0x0e, 4, 100, 2), []byte("hi"), // STREAM with OFF and LEN
		vi(0x10, 1), vi(0x11, 1, 2), vi(0x12, 1), vi(0x13, 1), vi(0x14, 1), vi(0x15, 1, 2), vi(0x16, 1), vi(0x17, 1),
		vi(0x18, 1, 0, 4), []byte{1, 2, 3, 4}, make([]byte, 16), // NEW_CONNECTION_ID
		vi(0x19, 1),
		vi(0x1a), []byte("12345678"), vi(0x1b), []byte("87654321"),
		vi(0x31, 2), []byte("dg"),
		vi(0x1c, 0x128, 0x06, 4), []byte("nope"), // CONNECTION_CLOSE, CRYPTO_ERROR
		vi(0x1d, 0x0101, 0),                       // application close
		vi(0x1e),                                  // HANDSHAKE_DONE
		vi(0x08, 4), []byte("rest of the packet"), // STREAM to the end
	)
	fs, err := collect(t, payload)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		s := fmt.Sprintf("%s/%#x", f.Kind, f.Type)
		switch f.Kind {
		case FramePadding:
			s += fmt.Sprintf(" x%d", f.Count)
		case FrameAck:
			s += fmt.Sprintf(" %d-%d ranges %d delay %d ecn %v", f.Smallest, f.Largest, f.Ranges, f.Delay, f.ECN)
		case FrameCrypto:
			s += fmt.Sprintf(" @%d %q", f.Offset, f.Data)
		case FrameNewToken:
			s += fmt.Sprintf(" %x", f.Data)
		case FrameNewConnectionID:
			s += fmt.Sprintf(" #%d %x", f.Offset, f.Data)
		case FrameConnectionClose:
			code := TransportErrorName(f.ErrorCode)
			if f.Application() {
				code = fmt.Sprintf("app %#x", f.ErrorCode)
			}
			s += fmt.Sprintf(" %s frame %#x %q", code, f.FrameType, f.Data)
		}
		got = append(got, s)
	}
	want := []string{
		"PADDING/0x0 x3", "PING/0x1",
		"ACK/0x2 86-100 ranges 2 delay 25 ecn [0 0 0]",
		"ACK/0x3 0-10 ranges 0 delay 0 ecn [5 6 7]",
		`CRYPTO/0x6 @1000 "abc"`, "NEW_TOKEN/0x7 dead",
		"other/0x4", "other/0x5", "other/0xe",
		"other/0x10", "other/0x11", "other/0x12", "other/0x13", "other/0x14", "other/0x15", "other/0x16", "other/0x17",
		"NEW_CONNECTION_ID/0x18 #1 01020304", "other/0x19", "other/0x1a", "other/0x1b", "other/0x31",
		`CONNECTION_CLOSE/0x1c CRYPTO_ERROR(0x128) frame 0x6 "nope"`,
		`CONNECTION_CLOSE/0x1d app 0x101 frame 0x0 ""`,
		"HANDSHAKE_DONE/0x1e", "other/0x8",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("frames:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestParseFramesBad: every truncation of a payload is an error or a
// shorter list, never a panic; unknown types and impossible ACKs stop
// with an error that names the frame.
func TestParseFramesBad(t *testing.T) {
	payload := frames(vi(0x02, 100, 25, 2, 3, 1, 4, 0, 2), vi(0x06, 0, 3), []byte("abc"),
		vi(0x1c, 10, 0, 3), []byte("bye"), vi(0x18, 1, 0, 4), []byte{1, 2, 3, 4}, make([]byte, 16))
	for n := range len(payload) {
		fs, err := collect(t, payload[:n])
		if err == nil && n > 0 && len(fs) == 4 {
			t.Fatalf("prefix of %d bytes read as the whole", n)
		}
		if err != nil && !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{vi(0x21), "frame type 0x21 at offset 0: unknown frame type"},
		{frames(vi(0x01), vi(0x40)), "frame type 0x40 at offset 1: unknown"},
		{vi(0x02, 5, 0, 0, 6), "ACK first range 6 below packet number 0"},
		{vi(0x02, 5, 0, 1, 1, 3, 0), "ACK range 1 runs below packet number 0"},
		{vi(0x02, 5, 0, 1000000, 0), "truncated"}, // a range count the payload cannot hold
		{frames(vi(0x18, 1, 0, 21), make([]byte, 40)), "NEW_CONNECTION_ID length 21"},
		{vi(0x06, 1<<62-2, 4, 0, 0, 0, 0), "past 2^62-1"},
		{[]byte{0x40}, "frame at offset 0: type: truncated"},
	} {
		_, err := collect(t, c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%x: %v, want %q", c.b, err, c.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := ParseFrames(frames(vi(1), vi(1), vi(1)), func(Frame) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("callback error: %v after %d", err, n)
	}
}

// TestParseFramesNoAlloc: the common path allocates nothing per frame.
func TestParseFramesNoAlloc(t *testing.T) {
	payload := frames(vi(0x02, 100, 25, 2, 3, 1, 4, 0, 2), vi(0x06, 0, 3), []byte("abc"), make([]byte, 100))
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		_ = ParseFrames(payload, func(f Frame) error { sink += len(f.Data); return nil })
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations per payload", allocs)
	}
}

func TestErrorNames(t *testing.T) {
	for code, want := range map[uint64]string{0: "NO_ERROR", 0x0a: "PROTOCOL_VIOLATION", 0x10: "NO_VIABLE_PATH", 0x128: "CRYPTO_ERROR(0x128)", 0x11: "0x11", 0x200: "0x200"} {
		if got := TransportErrorName(code); got != want {
			t.Errorf("TransportErrorName(%#x) = %s, want %s", code, got, want)
		}
	}
	a, ok := CryptoAlert(0x128)
	if !ok || a != 40 || decoder.AlertName(a) != "handshake_failure" {
		t.Errorf("CryptoAlert(0x128) = %d, %v (%s)", a, ok, decoder.AlertName(a))
	}
	if _, ok := CryptoAlert(0x0a); ok {
		t.Error("CryptoAlert of PROTOCOL_VIOLATION")
	}
	if a, ok := CryptoAlert(0x178); !ok || decoder.AlertName(a) != "no_application_protocol" {
		t.Errorf("CryptoAlert(0x178) = %d (%s)", a, decoder.AlertName(a))
	}
}

// TestACKLow: every range of an ACK counts in Low, not only the first;
// packet numbers from 64 on are outside it.
func TestACKLow(t *testing.T) {
	for _, c := range []struct {
		ack  []byte
		want uint64
	}{
		{vi(0x02, 5, 0, 1, 0, 1, 1), 1<<5 | 1<<2 | 1<<1},    // 5, then 1-2 after a gap of 3-4
		{vi(0x02, 10, 0, 0, 10), 0x7ff},                     // 0-10
		{vi(0x02, 70, 0, 1, 3, 2, 60), ^uint64(0) &^ 0b111}, // 67-70, then 3-63 after 64-66
		{vi(0x02, 100, 0, 0, 10), 0},                        // 90-100
	} {
		fs, err := collect(t, c.ack)
		if err != nil || len(fs) != 1 {
			t.Fatalf("% x: %v", c.ack, err)
		}
		if fs[0].Low != c.want {
			t.Errorf("% x: Low %#x, want %#x", c.ack, fs[0].Low, c.want)
		}
	}
}
