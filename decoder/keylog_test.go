package decoder

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// klRandom is a client random in hex, all bytes b.
func klRandom(b byte) string { return strings.Repeat(hex.EncodeToString([]byte{b}), 32) }

// klSecret is an n-byte secret in hex, all bytes b.
func klSecret(b byte, n int) string { return strings.Repeat(hex.EncodeToString([]byte{b}), n) }

func klBytes(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestKeyLogAdd(t *testing.T) {
	r1, r2 := klRandom(0x11), klRandom(0x22)
	long := "CLIENT_RANDOM " + r1 + " " + strings.Repeat("ab", 3000)
	tests := []struct {
		name    string
		text    string
		lines   int
		len     int
		unsup   int
		bad     []string // Why of each BadLine, with its line as "N: "
		check   func(*Secrets) bool
		random2 bool // check the secrets of r2 instead of r1
	}{
		{name: "client random", text: "CLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool {
				return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) && s.ClientHandshake == nil
			}},
		{name: "early", text: "CLIENT_EARLY_TRAFFIC_SECRET " + r1 + " " + klSecret(1, 32) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.ClientEarly, klBytes(1, 32)) }},
		{name: "client handshake", text: "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + r1 + " " + klSecret(2, 48) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.ClientHandshake, klBytes(2, 48)) }},
		{name: "server handshake", text: "SERVER_HANDSHAKE_TRAFFIC_SECRET " + r1 + " " + klSecret(3, 32) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.ServerHandshake, klBytes(3, 32)) }},
		{name: "client traffic", text: "CLIENT_TRAFFIC_SECRET_0 " + r1 + " " + klSecret(4, 32) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.ClientTraffic0, klBytes(4, 32)) }},
		{name: "server traffic", text: "SERVER_TRAFFIC_SECRET_0 " + r1 + " " + klSecret(5, 32) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.ServerTraffic0, klBytes(5, 32)) }},
		{name: "exporter", text: "EXPORTER_SECRET " + r1 + " " + klSecret(6, 32) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.Exporter, klBytes(6, 32)) }},
		{name: "early exporter", text: "EARLY_EXPORTER_SECRET " + r1 + " " + klSecret(7, 48) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.EarlyExporter, klBytes(7, 48)) }},
		{name: "all of TLS 1.3, CRLF", text: "SERVER_HANDSHAKE_TRAFFIC_SECRET " + r1 + " " + klSecret(3, 32) + "\r\n" +
			"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + r1 + " " + klSecret(2, 32) + "\r\n" +
			"SERVER_TRAFFIC_SECRET_0 " + r1 + " " + klSecret(5, 32) + "\r\n" +
			"CLIENT_TRAFFIC_SECRET_0 " + r1 + " " + klSecret(4, 32) + "\r\n", lines: 4, len: 1,
			check: func(s *Secrets) bool {
				return bytes.Equal(s.ClientHandshake, klBytes(2, 32)) && bytes.Equal(s.ServerHandshake, klBytes(3, 32)) &&
					bytes.Equal(s.ClientTraffic0, klBytes(4, 32)) && bytes.Equal(s.ServerTraffic0, klBytes(5, 32))
			}},
		{name: "comments, blank lines, spaces, upper case hex", text: "# a comment\n\n   \n  # indented comment\n\t CLIENT_RANDOM \t" +
			strings.ToUpper(r1) + "   " + strings.ToUpper(klSecret(0xab, 48)) + "  \t\r\n\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xab, 48)) }},
		{name: "no final newline", text: "# x\nCLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48), lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
		{name: "no final newline, CR", text: "CLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\r", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
		{name: "byte order mark", text: "\ufeffCLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
		{name: "NUL padding of a DSB", text: "CLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n\x00\x00\x00", lines: 1, len: 1,
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
		{name: "duplicate replaces", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 48) + "\nCLIENT_RANDOM " + r1 + " " + klSecret(2, 48) + "\n",
			lines: 2, len: 1, check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(2, 48)) }},
		{name: "two randoms", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 48) + "\nCLIENT_RANDOM " + r2 + " " + klSecret(2, 48) + "\n",
			lines: 2, len: 2, random2: true, check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(2, 48)) }},
		{name: "unknown label skipped", text: "ECH_SECRET " + r1 + " " + klSecret(1, 32) + "\nFUTURE_LABEL_9 " + r1 + " abcd\n",
			lines: 2, len: 0, unsup: 2},
		{name: "RSA skipped", text: "RSA 0123456789abcdef " + klSecret(9, 48) + "\n", lines: 1, unsup: 1},
		{name: "RSA bad", text: "RSA 0123456789abcd " + klSecret(9, 48) + "\nRSA 0123456789abcdef " + klSecret(9, 47) + "\n", lines: 2,
			bad: []string{"1: encrypted pre-master prefix is 7 bytes, want 8", "2: pre-master secret is 47 bytes, want 48"}},
		{name: "secret not hex", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 47) + "zz\n", lines: 1, bad: []string{"1: secret is not hex"}},
		{name: "random not hex", text: "CLIENT_RANDOM " + r1[:62] + "g0 " + klSecret(1, 48) + "\n", lines: 1, bad: []string{"1: client random is not hex"}},
		{name: "odd hex", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 48) + "a\n", lines: 1, bad: []string{"1: secret has an odd number of hex digits"}},
		{name: "short random", text: "CLIENT_RANDOM " + r1[:62] + " " + klSecret(1, 48) + "\n", lines: 1,
			bad: []string{"1: client random is 31 bytes, want 32"}},
		{name: "master secret 32 bytes", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 32) + "\n", lines: 1,
			bad: []string{"1: secret is 32 bytes, want 48"}},
		{name: "TLS 1.3 secret 40 bytes", text: "CLIENT_TRAFFIC_SECRET_0 " + r1 + " " + klSecret(1, 40) + "\n", lines: 1,
			bad: []string{"1: secret is 40 bytes, want 32 or 48"}},
		{name: "unknown label, not hex", text: "\nECH_CONFIG " + r1 + " xyz\n", lines: 1, bad: []string{"2: secret is not hex"}},
		{name: "two fields", text: "CLIENT_RANDOM " + r1 + "\n", lines: 1, bad: []string{"1: 2 fields, want 3: label, client random and secret"}},
		{name: "four fields", text: "CLIENT_RANDOM " + r1 + " " + klSecret(1, 48) + " x\n", lines: 1,
			bad: []string{"1: 4 fields, want 3: label, client random and secret"}},
		{name: "bad label", text: "client_random " + r1 + " " + klSecret(1, 48) + "\n", lines: 1,
			bad: []string{"1: label is not made of A-Z, 0-9 and _"}},
		{name: "very long line, then a good one", text: long + "\nCLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n", lines: 2, len: 1,
			bad:   []string{"1: line is longer than 4096 bytes"},
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
		{name: "very long last line", text: "CLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n" + long, lines: 2, len: 1,
			bad: []string{"2: line is longer than 4096 bytes"}},
		{name: "4096 bytes with CRLF is not too long", text: "# " + strings.Repeat("x", 4094) + "\r\n", lines: 0},
		{name: "4097 bytes is too long", text: "# " + strings.Repeat("x", 4095) + "\n", lines: 1,
			bad: []string{"1: line is longer than 4096 bytes"}},
		{name: "good after bad", text: "CLIENT_RANDOM zz " + klSecret(1, 48) + "\n\nCLIENT_RANDOM " + r1 + " " + klSecret(0xaa, 48) + "\n",
			lines: 2, len: 1, bad: []string{"1: client random is not hex"},
			check: func(s *Secrets) bool { return bytes.Equal(s.MasterSecret, klBytes(0xaa, 48)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Read in one piece and byte by byte: the pieces must not matter.
			for _, r := range []io.Reader{strings.NewReader(tt.text), &klOneByteReader{s: tt.text}} {
				k := NewKeyLog()
				lines, bad, err := k.Add("test.log", r)
				if err != nil {
					t.Fatal(err)
				}
				if lines != tt.lines {
					t.Errorf("lines = %d, want %d", lines, tt.lines)
				}
				var got []string
				for _, b := range bad {
					if b.Source != "test.log" {
						t.Errorf("Source = %q", b.Source)
					}
					got = append(got, strconv.Itoa(b.Line)+": "+b.Why)
				}
				if strings.Join(got, "\n") != strings.Join(tt.bad, "\n") {
					t.Errorf("bad =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.bad, "\n"))
				}
				if k.Len() != tt.len {
					t.Errorf("Len = %d, want %d", k.Len(), tt.len)
				}
				if k.Unsupported() != tt.unsup {
					t.Errorf("Unsupported = %d, want %d", k.Unsupported(), tt.unsup)
				}
				if tt.check != nil {
					random := r1
					if tt.random2 {
						random = r2
					}
					rb, _ := hex.DecodeString(random)
					s := k.Lookup(rb)
					if s == nil || !tt.check(s) {
						t.Errorf("Lookup = %v, not the secrets of the text", s != nil)
					}
				}
				klNoSecretsIn(t, tt.text, bad)
			}
		})
	}
}

// klOneByteReader reads one byte at a time.
type klOneByteReader struct {
	s string
	i int
}

func (r *klOneByteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.s) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[r.i]
	r.i++
	return 1, nil
}

// klNoSecretsIn fails when a BadLine quotes 16 or more hex digits in a row:
// that could be a secret of the text.
func klNoSecretsIn(t testing.TB, text string, bad []BadLine) {
	t.Helper()
	for _, b := range bad {
		if run := klLongestHexRun(b.Why); run >= 16 {
			t.Errorf("BadLine %q has %d hex digits in a row", b.Why, run)
		}
	}
}

func klLongestHexRun(s string) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if hexNibble(s[i]) >= 0 {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func TestKeyLogLookup(t *testing.T) {
	k := NewKeyLog()
	text := ""
	for i := byte(1); i <= 3; i++ {
		text += "CLIENT_RANDOM " + klRandom(i) + " " + klSecret(i, 48) + "\n"
	}
	if _, _, err := k.Add("a", strings.NewReader(text)); err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 || k.Unused() != 3 {
		t.Fatalf("Len %d Unused %d, want 3 3", k.Len(), k.Unused())
	}
	r1, _ := hex.DecodeString(klRandom(1))
	if k.Lookup(r1) == nil {
		t.Fatal("no secrets for random 1")
	}
	if k.Lookup(r1) == nil { // twice: still one used
		t.Fatal("no secrets for random 1")
	}
	r9, _ := hex.DecodeString(klRandom(9))
	if k.Lookup(r9) != nil || k.Lookup(r1[:31]) != nil || k.Lookup(nil) != nil {
		t.Fatal("secrets for an unknown random")
	}
	if k.Unused() != 2 {
		t.Fatalf("Unused = %d, want 2", k.Unused())
	}
	// The Secrets are a copy: a later line does not change them.
	s := k.Lookup(r1)
	k.Add("b", strings.NewReader("CLIENT_RANDOM "+klRandom(1)+" "+klSecret(0xee, 48)+"\nCLIENT_HANDSHAKE_TRAFFIC_SECRET "+klRandom(1)+" "+klSecret(0xee, 32)))
	if !bytes.Equal(s.MasterSecret, klBytes(1, 48)) || s.ClientHandshake != nil {
		t.Fatal("Secrets changed under the caller")
	}
	if s := k.Lookup(r1); !bytes.Equal(s.MasterSecret, klBytes(0xee, 48)) || !bytes.Equal(s.ClientHandshake, klBytes(0xee, 32)) {
		t.Fatal("later lines not kept")
	}
}

func TestKeyLogCap(t *testing.T) {
	k := NewKeyLog()
	k.max = 2
	text := ""
	for i := byte(1); i <= 4; i++ {
		text += "CLIENT_RANDOM " + klRandom(i) + " " + klSecret(i, 48) + "\n"
	}
	// An entry already kept still takes its new lines.
	text += "SERVER_TRAFFIC_SECRET_0 " + klRandom(1) + " " + klSecret(1, 32) + "\n"
	lines, bad, err := k.Add("big.log", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if lines != 5 || k.Len() != 2 {
		t.Fatalf("lines %d Len %d, want 5 2", lines, k.Len())
	}
	if len(bad) != 1 || bad[0].Line != 0 || !strings.HasPrefix(bad[0].Why, "2 lines dropped") {
		t.Fatalf("bad = %v, want one Line 0 saying 2 lines dropped", bad)
	}
	r1, _ := hex.DecodeString(klRandom(1))
	if s := k.Lookup(r1); s == nil || s.ServerTraffic0 == nil {
		t.Fatal("a kept entry lost its later line")
	}
}

func TestKeyLogManyBadLines(t *testing.T) {
	text := strings.Repeat("CLIENT_RANDOM x y\n", 250)
	lines, bad, _ := NewKeyLog().Add("bad.log", strings.NewReader(text))
	if lines != 250 || len(bad) != maxBadLines+1 {
		t.Fatalf("lines %d, %d BadLines, want 250 and %d", lines, len(bad), maxBadLines+1)
	}
	if last := bad[len(bad)-1]; last.Line != 0 || last.Why != "150 more malformed lines not listed" {
		t.Fatalf("last BadLine = %v", last)
	}
}

type klErrReader struct{}

func (klErrReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestKeyLogReadError(t *testing.T) {
	_, _, err := NewKeyLog().Add("x", io.MultiReader(strings.NewReader("CLIENT_RANDOM "), klErrReader{}))
	if err == nil || !strings.Contains(err.Error(), "x") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyLogConcurrent(t *testing.T) {
	k := NewKeyLog()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			k.Add("w", strings.NewReader("CLIENT_RANDOM "+klRandom(byte(i))+" "+klSecret(1, 48)+"\n"))
		}
	}()
	go func() {
		defer wg.Done()
		r, _ := hex.DecodeString(klRandom(7))
		for i := 0; i < 200; i++ {
			k.Lookup(r)
			k.Len()
			k.Unused()
		}
	}()
	wg.Wait()
	if k.Len() != 200 {
		t.Fatalf("Len = %d", k.Len())
	}
}

func klAppend(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func klPoll(t *testing.T, f *KeyLogFile, wantLines, wantBad int) {
	t.Helper()
	lines, bad, err := f.Poll()
	if err != nil {
		t.Fatal(err)
	}
	if lines != wantLines || len(bad) != wantBad {
		t.Fatalf("Poll: %d lines, bad %v; want %d lines, %d bad", lines, bad, wantLines, wantBad)
	}
}

func TestKeyLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	line := func(b byte) string { return "CLIENT_RANDOM " + klRandom(b) + " " + klSecret(b, 48) + "\n" }
	klAppend(t, path, "# written by a client\n"+line(1)+line(2)[:20])
	k := NewKeyLog()
	f, err := OpenKeyLogFile(path, k)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 1 {
		t.Fatalf("after open Len = %d, want 1", k.Len())
	}
	klPoll(t, f, 1, 0) // what the open read, the partial line kept
	klPoll(t, f, 0, 0) // nothing new, the partial line is not well formed: still kept
	klAppend(t, path, line(2)[20:100])
	klPoll(t, f, 0, 0)
	klAppend(t, path, line(2)[100:]+line(3))
	klPoll(t, f, 2, 0)
	klPoll(t, f, 0, 0)
	if k.Len() != 3 {
		t.Fatalf("Len = %d, want 3", k.Len())
	}
	klAppend(t, path, "CLIENT_RANDOM zz "+klSecret(1, 48)+"\n")
	lines, bad, err := f.Poll()
	if err != nil || lines != 1 || len(bad) != 1 || bad[0].Line != 5 || bad[0].Source != path {
		t.Fatalf("Poll: %d %v %v, want line 5 malformed", lines, bad, err)
	}

	// Truncated and written again: read from the start.
	if err := os.WriteFile(path, []byte(line(4)), 0o600); err != nil {
		t.Fatal(err)
	}
	klPoll(t, f, 1, 0)
	if k.Len() != 4 {
		t.Fatalf("Len = %d, want 4", k.Len())
	}
	// Replaced by another file as long as what we read: read from the start.
	other := filepath.Join(filepath.Dir(path), "other.log")
	klAppend(t, other, line(5)+line(6)+line(7))
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	klPoll(t, f, 3, 0)
	if k.Len() != 7 {
		t.Fatalf("Len = %d, want 7", k.Len())
	}
	// Gone: an error, and back again: read.
	os.Remove(path)
	if _, _, err := f.Poll(); err == nil {
		t.Fatal("no error for a removed file")
	}
	klAppend(t, path, line(8))
	klPoll(t, f, 1, 0)
	if k.Len() != 8 {
		t.Fatalf("Len = %d, want 8", k.Len())
	}
}

func TestKeyLogFileNoFinalNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	full := "CLIENT_TRAFFIC_SECRET_0 " + klRandom(1) + " " + klSecret(0xcd, 48)
	// Cut where the line is well formed but not whole: a 32-byte secret.
	klAppend(t, path, full[:len(full)-32])
	k := NewKeyLog()
	f, err := OpenKeyLogFile(path, k)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 0 {
		t.Fatal("a partial line taken at the open")
	}
	klPoll(t, f, 1, 0) // unchanged since the open: taken as the last line
	r1, _ := hex.DecodeString(klRandom(1))
	if s := k.Lookup(r1); s == nil || len(s.ClientTraffic0) != 32 {
		t.Fatal("the last line without newline was not taken")
	}
	klPoll(t, f, 0, 0) // not taken twice
	// It went on after all: read whole again, not counted twice.
	klAppend(t, path, full[len(full)-32:]+"\n")
	klPoll(t, f, 0, 0)
	if s := k.Lookup(r1); s == nil || !bytes.Equal(s.ClientTraffic0, klBytes(0xcd, 48)) {
		t.Fatal("the line that went on did not replace what was taken")
	}
	klPoll(t, f, 0, 0)
}

func TestKeyLogFileLongPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	klAppend(t, path, strings.Repeat("a", 3000))
	k := NewKeyLog()
	f, err := OpenKeyLogFile(path, k)
	if err != nil {
		t.Fatal(err)
	}
	klAppend(t, path, strings.Repeat("a", 3000))
	klPoll(t, f, 0, 0)
	klAppend(t, path, strings.Repeat("a", 3000)+"\nCLIENT_RANDOM "+klRandom(1)+" "+klSecret(1, 48)+"\n")
	lines, bad, err := f.Poll()
	if err != nil || lines != 2 || len(bad) != 1 || bad[0].Line != 1 || bad[0].Why != "line is longer than 4096 bytes" || k.Len() != 1 {
		t.Fatalf("Poll: %d %v %v", lines, bad, err)
	}
	if cap(f.sp.partial) > maxKeyLogLine+1 {
		t.Fatalf("partial line buffer grew to %d", cap(f.sp.partial))
	}
}

func TestOpenKeyLogFileMissing(t *testing.T) {
	if _, err := OpenKeyLogFile(filepath.Join(t.TempDir(), "none"), NewKeyLog()); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// The key logs of other projects in ../shared/captures: all well formed.
func TestKeyLogCorpus(t *testing.T) {
	dir := testenv.NeedShared(t, "..")
	tests := []struct {
		path           string
		lines, randoms int
	}{
		{"ssldump/samples/log.txt", 41, 9},
		{"snet/tests/pcap/data/decrypt_by_keylog/ssl3_0.keylog", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/tls1_0.keylog", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/tls1_1.keylog", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/tls1_2.keylog", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/TLS1_AECDH-AES128-SHA.txt", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/mTLS1_2_Ed25519.txt", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/mTLS1_2_RSA.txt", 1, 1},
		{"snet/tests/pcap/data/decrypt_by_keylog/mTLS1_3_RSA.txt", 5, 1},
		{"mercury/test/data/sslkeylogfile.log", 80, 16},
	}
	all := NewKeyLog()
	total := 0
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			path := filepath.Join(dir, tt.path)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			k := NewKeyLog()
			lines, bad, err := k.Add(tt.path, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bad {
				t.Errorf("malformed: %v", b)
			}
			if lines != tt.lines || k.Len() != tt.randoms || k.Unused() != tt.randoms || k.Unsupported() != 0 {
				t.Errorf("%d lines, %d randoms (%d unused, %d unsupported), want %d lines, %d randoms",
					lines, k.Len(), k.Unused(), k.Unsupported(), tt.lines, tt.randoms)
			}
			// As a live file too: the same.
			lk := NewKeyLog()
			lf, err := OpenKeyLogFile(path, lk)
			if err != nil {
				t.Fatal(err)
			}
			if lines, bad, err := lf.Poll(); err != nil || lines != tt.lines || len(bad) != 0 || lk.Len() != tt.randoms {
				t.Errorf("KeyLogFile: %d lines, %v, %v, %d randoms", lines, bad, err, lk.Len())
			}
			f.Seek(0, io.SeekStart)
			all.Add(tt.path, f)
			total += tt.randoms
		})
	}
	if all.Len() != total {
		t.Errorf("all key logs: %d randoms, want %d (a random in two files?)", all.Len(), total)
	}
}

// klClientHelloConn records what the client writes, to find the random
// of its ClientHello: crypto/tls does not expose it.
type klClientHelloConn struct {
	net.Conn
	mu      sync.Mutex
	written []byte
}

func (c *klClientHelloConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.written) < 64 {
		c.written = append(c.written, p...)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// random is bytes 11..43 of the first record: 5 of record header, 4 of
// handshake header, 2 of client_version.
func (c *klClientHelloConn) random(t *testing.T) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.written) < 43 || c.written[0] != 22 || c.written[5] != 1 {
		t.Fatalf("first record is not a ClientHello: % x", c.written[:min(len(c.written), 16)])
	}
	return append([]byte(nil), c.written[11:43]...)
}

type klSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *klSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func klCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keylog.test"},
		DNSNames:     []string{"keylog.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A key log written by crypto/tls's KeyLogWriter in real handshakes.
func TestKeyLogGoTLS(t *testing.T) {
	cert := klCertificate(t)
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			var keylog klSyncBuffer
			cc, sc := net.Pipe()
			rec := &klClientHelloConn{Conn: cc}
			client := tls.Client(rec, &tls.Config{ServerName: "keylog.test", InsecureSkipVerify: true, MaxVersion: version, KeyLogWriter: &keylog})
			server := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: version})
			errc := make(chan error, 1)
			go func() { errc <- server.Handshake() }()
			if err := client.Handshake(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got := client.ConnectionState().Version; got != version {
				t.Fatalf("version %x, want %x", got, version)
			}
			// Not client.Close: its close_notify would wait on a peer
			// that no longer reads.
			cc.Close()
			sc.Close()

			k := NewKeyLog()
			keylog.mu.Lock()
			text := keylog.b.String()
			keylog.mu.Unlock()
			lines, bad, err := k.Add("crypto/tls", strings.NewReader(text))
			if err != nil || len(bad) != 0 || lines == 0 || k.Len() != 1 {
				t.Fatalf("Add: %d lines, %v, %v, Len %d", lines, bad, err, k.Len())
			}
			s := k.Lookup(rec.random(t))
			if s == nil {
				t.Fatal("no secrets for the ClientHello random")
			}
			if version == tls.VersionTLS12 {
				if len(s.MasterSecret) != 48 || s.ClientHandshake != nil {
					t.Fatalf("TLS 1.2: master secret of %d bytes", len(s.MasterSecret))
				}
				return
			}
			// Go's TLS 1.3 suites all hash with SHA-256 but TLS_AES_256_GCM_SHA384.
			want := 32
			if client.ConnectionState().CipherSuite == tls.TLS_AES_256_GCM_SHA384 {
				want = 48
			}
			for name, b := range map[string][]byte{"client handshake": s.ClientHandshake, "server handshake": s.ServerHandshake,
				"client traffic": s.ClientTraffic0, "server traffic": s.ServerTraffic0} {
				if len(b) != want {
					t.Errorf("%s secret is %d bytes, want %d", name, len(b), want)
				}
			}
			if s.MasterSecret != nil {
				t.Error("a TLS 1.3 handshake with a master secret")
			}
			if k.Unused() != 0 {
				t.Errorf("Unused = %d after the lookup", k.Unused())
			}
		})
	}
}

func TestSecretsPrintNoSecret(t *testing.T) {
	s := &Secrets{MasterSecret: klBytes(0xab, 48), ClientTraffic0: klBytes(0xcd, 32)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{s, *s} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "cdcd") || strings.Contains(out, "171, 171") || strings.Contains(out, "\\xab") {
				t.Errorf("%s prints the secret: %s", verb, out)
			}
		}
	}
	if got := s.String(); !strings.Contains(got, "master 48 bytes") || !strings.Contains(got, "client traffic 32 bytes") {
		t.Errorf("String = %s", got)
	}
}
