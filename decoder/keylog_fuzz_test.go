package decoder

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzKeyLog: any text is read without panic; no BadLine quotes 16 hex
// digits in a row (a secret, or part of one); and the text read a byte
// at a time, as a live file may come, gives the same lines as read whole.
func FuzzKeyLog(f *testing.F) {
	r := strings.Repeat("0a", 32)
	f.Add([]byte("CLIENT_RANDOM " + r + " " + strings.Repeat("ff", 48) + "\n"))
	f.Add([]byte("# c\r\n\r\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + r + " " + strings.Repeat("Ab", 32) + "\r\nRSA 0011223344556677 " + strings.Repeat("01", 48)))
	f.Add([]byte("CLIENT_TRAFFIC_SECRET_0 " + r + " " + strings.Repeat("1", 63) + "\nECH_SECRET " + r + " 00\n"))
	f.Add([]byte("CLIENT_RANDOM " + r[:40] + " deadbeefdeadbeefdeadbeef\nEXPORTER_SECRET x " + r + "\n" + strings.Repeat("ab", 2100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		k := NewKeyLog()
		lines, bad, err := k.Add("fuzz", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			if run := klLongestHexRun(b.Why); run >= 16 {
				t.Fatalf("BadLine %q has %d hex digits in a row", b.Why, run)
			}
		}
		if k.Len() > lines || k.Unused() != k.Len() {
			t.Fatalf("Len %d Unused %d for %d lines", k.Len(), k.Unused(), lines)
		}

		// A byte at a time through the splitter, as a live file may come
		// (no cut parameter: the fuzzer spends minutes minimizing integers).
		var whole, pieces []string
		collect := func(to *[]string) func(int, []byte, bool) {
			return func(no int, line []byte, tooLong bool) {
				if tooLong {
					line = []byte("(too long)")
				}
				*to = append(*to, string(rune('0'+no%10))+string(line))
			}
		}
		var s1, s2 keyLogSplitter
		s1.feed(data, collect(&whole))
		s1.finish(collect(&whole))
		for i := range data {
			s2.feed(data[i:i+1], collect(&pieces))
		}
		s2.finish(collect(&pieces))
		if strings.Join(whole, "\n") != strings.Join(pieces, "\n") {
			t.Fatalf("lines differ read a byte at a time")
		}
		if cap(s2.partial) > maxKeyLogLine+1 {
			t.Fatalf("partial line buffer grew to %d", cap(s2.partial))
		}
	})
}
