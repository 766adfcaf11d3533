package capgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestTSharkDecryptsWithKeys reads every capture that has a key log with
// tshark given that log, and checks it now sees what ExpectKeys says: the
// encrypted handshake messages and alerts for a right log, nothing more
// than without keys for a wrong one. The other key log of a capture
// (NAME.other.keys, for none of its connections) must decrypt nothing:
// tshark sees what Expect says. A pcapng file with its log embedded is
// read without one.
func TestTSharkDecryptsWithKeys(t *testing.T) {
	testenv.TShark(t)
	n := 0
	for _, s := range Scenarios() {
		if s.keys == nil {
			continue
		}
		n++
		capture := filepath.Join(testdata, s.Name)
		base := strings.TrimSuffix(capture, filepath.Ext(capture))
		if s.keys.embed {
			t.Run(s.Name, func(t *testing.T) { checkDecrypted(t, capture, "", s.ExpectKeys) })
			continue
		}
		t.Run(s.Name, func(t *testing.T) { checkDecrypted(t, capture, base+".keys", s.ExpectKeys) })
		if s.keys.other {
			t.Run(s.Name+"/other", func(t *testing.T) { checkDecrypted(t, capture, base+".other.keys", s.Expect) })
		}
	}
	if n == 0 {
		t.Fatal("no scenario has a key log")
	}
}

// checkDecrypted runs tshark on capture with keylog (none when "") and
// compares the handshake types and alerts per stream with want, written
// as in Scenario.Expect.
func checkDecrypted(t *testing.T, capture, keylog string, want map[int]string) {
	t.Helper()
	args := testenv.TSharkArgs(capture)
	if keylog != "" {
		args = append(args, "-o", "tls.keylog_file:"+contentNamed(t, keylog))
	}
	args = append(args, "-Y", testenv.HandshakeFilter, "-T", "fields",
		"-e", "tcp.stream", "-e", "tls.handshake.type", "-e", "tls.alert_message.desc")
	out, err := testenv.TSharkOutput(t, capture, args...)
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	seen := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 {
			t.Fatalf("tshark printed %q", line)
		}
		if f[1] != "" {
			seen[f[0]] = append(seen[f[0]], f[1])
		}
		if f[2] != "" {
			seen[f[0]] = append(seen[f[0]], "alert:"+f[2])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("tshark sees handshakes on %d streams, want %d: %v", len(seen), len(want), seen)
	}
	for stream, w := range want {
		if got := strings.Join(seen[itoa(stream)], ","); got != w {
			t.Errorf("stream %d: tshark with %s sees %q, want %q", stream, filepath.Base(keylog), got, w)
		}
	}
}

// contentNamed copies a key log to a file named by its content: tshark's
// output is cached by the capture's content and the arguments (testenv),
// so the argument must change when the log does.
func contentNamed(t *testing.T, keylog string) string {
	t.Helper()
	data, err := os.ReadFile(keylog)
	if err != nil {
		t.Fatalf("%v (run make testdata)", err)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("tlsscope-keylog-%x.keys", sha256.Sum256(data)))
	if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, data) {
		tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestKeyLogs checks the key logs the generator writes: one per capture
// with keys, lines of the labels crypto/tls writes for the capture's
// version, the wrong and other logs the right one with a field flipped,
// the pcapng file the same packets as the pcap with its log embedded.
func TestKeyLogs(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	byName := map[string]*Scenario{}
	files := map[string][]byte{}
	for _, s := range Scenarios() {
		var b bytes.Buffer
		if err := s.Write(&b); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		files[s.Name] = b.Bytes()
		for name, data := range s.KeyFiles() {
			if _, dup := files[name]; dup {
				t.Errorf("%s: %s written twice", s.Name, name)
			}
			files[name] = data
		}
		byName[s.Name] = s
	}
	labels := map[string]bool{"CLIENT_RANDOM": true, "CLIENT_HANDSHAKE_TRAFFIC_SECRET": true, "SERVER_HANDSHAKE_TRAFFIC_SECRET": true,
		"CLIENT_TRAFFIC_SECRET_0": true, "SERVER_TRAFFIC_SECRET_0": true}
	for name, s := range byName {
		if s.keys == nil || s.keys.embed {
			continue
		}
		log := files[strings.TrimSuffix(name, ".pcap")+".keys"]
		lines := strings.Split(strings.TrimSuffix(string(log), "\n"), "\n")
		want := 4 * len(s.conns) // TLS 1.3: two handshake and two traffic secrets
		switch {
		case strings.HasPrefix(name, "keys-tls12"):
			want = len(s.conns)
		case strings.Contains(name, "rejects-cert"):
			want = 2 // the client stops before the traffic secrets
		}
		if len(lines) != want {
			t.Errorf("%s: %d key log lines, want %d:\n%s", name, len(lines), want, log)
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) != 3 || !labels[f[0]] || len(f[1]) != 64 {
				t.Errorf("%s: key log line %q", name, l)
			}
		}
		if s.keys.wrong && !bytes.Equal(flipKeyLog(log, 2), s.keys.buf.Bytes()) {
			t.Errorf("%s: the wrong log is not the right one with its secrets flipped", name)
		}
	}
	right, other := files["keys-tls13-aes128.keys"], files["keys-tls13-aes128.other.keys"]
	if other == nil || !bytes.Equal(flipKeyLog(other, 1), right) || bytes.Equal(other, right) {
		t.Errorf("keys-tls13-aes128.other.keys is not keys-tls13-aes128.keys with its client randoms flipped")
	}

	// The pcapng file: the packets of the pcap, the key log in a DSB.
	ng := files["keys-tls13-dsb.pcapng"]
	pr, err := pcapgo.NewReader(bytes.NewReader(files["keys-tls13-aes128.pcap"]))
	if err != nil {
		t.Fatal(err)
	}
	nr, err := pcapgo.NewNgReader(bytes.NewReader(ng), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		a, ca, errA := pr.ReadPacketData()
		b, cb, errB := nr.ReadPacketData()
		if errA != nil || errB != nil {
			if (errA == nil) != (errB == nil) {
				t.Errorf("packet %d: pcap %v, pcapng %v", i, errA, errB)
			}
			break
		}
		if !bytes.Equal(a, b) || !ca.Timestamp.Equal(cb.Timestamp) {
			t.Errorf("packet %d differs between keys-tls13-aes128.pcap and keys-tls13-dsb.pcapng", i)
		}
	}
	dsb := dsbOf(t, ng)
	if !bytes.Equal(dsb, right) {
		t.Errorf("the DSB holds %q, want the key log of keys-tls13-aes128", dsb)
	}
}

// dsbOf returns the secrets of the one Decryption Secrets Block of a
// little-endian pcapng file, checking its layout: right after the section
// header and interface description, before the first packet.
func dsbOf(t *testing.T, ng []byte) []byte {
	t.Helper()
	var types []uint32
	var secrets []byte
	for off := 0; off < len(ng); {
		typ, n := binary.LittleEndian.Uint32(ng[off:]), int(binary.LittleEndian.Uint32(ng[off+4:]))
		if n < 12 || n%4 != 0 || off+n > len(ng) || binary.LittleEndian.Uint32(ng[off+n-4:]) != uint32(n) {
			t.Fatalf("block at %d: length %d", off, n)
		}
		types = append(types, typ)
		if typ == 0x0a {
			body := ng[off+8 : off+n-4]
			if binary.LittleEndian.Uint32(body) != 0x544c534b {
				t.Errorf("secrets type %#x, want TLSK", binary.LittleEndian.Uint32(body))
			}
			size := int(binary.LittleEndian.Uint32(body[4:]))
			if pad := len(body) - 8 - size; pad < 0 || pad > 3 || !bytes.Equal(body[8+size:], make([]byte, pad)) {
				t.Errorf("secrets of %d bytes in a body of %d", size, len(body))
			}
			secrets = body[8 : 8+size]
		}
		off += n
	}
	if len(types) < 4 || types[0] != 0x0a0d0d0a || types[1] != 1 || types[2] != 0x0a || types[3] != 6 {
		t.Errorf("blocks %x, want section header, interface, secrets, then packets", types[:min(4, len(types))])
	}
	return secrets
}

// TestWriteDSBPadding checks the block's length and padding for secrets
// of every length modulo 4.
func TestWriteDSBPadding(t *testing.T) {
	for n := range 8 {
		var b bytes.Buffer
		log := bytes.Repeat([]byte("k"), n)
		if err := writeDSB(&b, log); err != nil {
			t.Fatal(err)
		}
		want := 20 + (n+3)/4*4
		if got := b.Len(); got != want || int(binary.LittleEndian.Uint32(b.Bytes()[4:])) != want {
			t.Errorf("%d bytes of secrets: block of %d bytes, want %d", n, got, want)
		}
		if size := binary.LittleEndian.Uint32(b.Bytes()[12:]); size != uint32(n) || !bytes.Equal(b.Bytes()[16:16+n], log) {
			t.Errorf("%d bytes of secrets: length field %d", n, size)
		}
	}
}
