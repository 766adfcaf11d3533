package decoder

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
	"golang.org/x/crypto/cryptobyte"
)

// The DTLS 1.3 captures of testdata were made by pion/dtls v4.0.1's client
// and server talking over UDP on the loopback, with pion's key log
// (testdata/dtls13gen, a module of its own: go run . there). Both: a
// HelloRetryRequest with a cookie (pion's default), a ClientHello in two
// fragments (its X25519MLKEM768 key share), the server's flight in one
// datagram, the client's Finished ACKed, one message each way, the
// client's close_notify answered with the server's. aes128gcm also has a
// KeyUpdate each way (the client's asks for the server's), each ACKed;
// lost-flight loses the server's first protected datagram once
// (TestDTLS13FlightRetransmitted).

// dtls13Pion feeds one of the pion captures, with its key log or
// another.
func dtls13Pion(t *testing.T, name string, log *KeyLog) *dtlsFlow {
	t.Helper()
	flows := feedKeyed(t, "testdata/"+name+".pcap", log, log != nil)
	if len(flows) != 1 {
		t.Fatalf("%s: %d flows", name, len(flows))
	}
	return flows[0]
}

func alertList(hs *Handshake) string {
	var out []string
	for _, a := range hs.Alerts {
		out = append(out, a.From.String()+" "+a.DescriptionName())
	}
	return strings.Join(out, ", ")
}

func ladderTypes(hs *Handshake, encrypted bool) string {
	var out []string
	for _, m := range hs.Messages {
		if m.Encrypted == encrypted || m.Type == MsgApplicationData {
			out = append(out, m.From.String()+" "+m.Type.String())
		}
	}
	return strings.Join(out, ", ")
}

func TestDTLS13DecryptPion(t *testing.T) {
	for _, c := range []struct {
		name, suite    string
		opened         [2]int
		acks, acked    [2]int
		keyUpdate      bool
		lastEpoch      uint16
		closeFrame     int64
		certVerifyLen  int
		wantACKedFirst DTLSRecordNumber
	}{
		{name: "dtls13-pion-aes128gcm", suite: "TLS_AES_128_GCM_SHA256", opened: [2]int{6, 10}, acks: [2]int{1, 2}, acked: [2]int{1, 2},
			keyUpdate: true, lastEpoch: 4, closeFrame: 17},
		{name: "dtls13-pion-chacha20", suite: "TLS_CHACHA20_POLY1305_SHA256", opened: [2]int{3, 7}, acks: [2]int{0, 1}, acked: [2]int{0, 1},
			lastEpoch: 3, closeFrame: 11},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := dtls13Pion(t, c.name, readKeyLog(t, "testdata/"+c.name+".keys"))
			hs := f.conn.Snapshot()
			if hs.Version() != VersionDTLS13 || CipherSuiteName(hs.ServerHello.CipherSuite) != c.suite {
				t.Errorf("%s %s", VersionName(hs.Version()), CipherSuiteName(hs.ServerHello.CipherSuite))
			}
			if hs.HelloRetryRequest == nil || hs.RetryClientHello == nil {
				t.Error("want the HelloRetryRequest and the second ClientHello")
			}
			if d := hs.Decryption; d.Status != DecryptDecrypted || d.Opened != c.opened || d.Unopened != [2]int{} {
				t.Errorf("decryption %s (%s), opened %v, unopened %v", d.Status, d.Reason, d.Opened, d.Unopened)
			}
			if len(hs.ServerCertificates) != 1 || hs.ServerCertificates[0].CommonName != "dtls13.tlsscope.test" {
				t.Errorf("server certificates %d", len(hs.ServerCertificates))
			}
			if hs.EncryptedExtensions == nil {
				t.Error("no EncryptedExtensions")
			}
			if hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} {
				t.Errorf("Finished %v, want both verified", hs.Finished)
			}
			if ph := f.conn.State().Phase; ph != PhaseComplete {
				t.Errorf("phase %s", ph)
			}
			if a := alertList(hs); a != "client close_notify, server close_notify" {
				t.Errorf("alerts %q", a)
			}
			want := "server EncryptedExtensions, server Certificate, server CertificateVerify, server Finished, client Finished, client ApplicationData, server ApplicationData"
			if c.keyUpdate {
				want += ", client KeyUpdate, server KeyUpdate, client ApplicationData, server ApplicationData"
			}
			got := ladderTypes(hs, false)
			if i := strings.Index(got, "server EncryptedExtensions"); i < 0 || !strings.HasPrefix(got[i:], want) {
				t.Errorf("ladder %s\nwant after the hellos %s", got, want)
			}
			st := f.conn.Stats()
			if st.ACKs != c.acks || st.ACKed != c.acked || st.Opened13 != c.opened || st.Duplicates != [2]int{} {
				t.Errorf("ACK records %v, record numbers ACKed %v, opened %v, duplicates %v", st.ACKs, st.ACKed, st.Opened13, st.Duplicates)
			}
			// The server ACKs the client's Finished: record 0 of epoch 2
			// (RFC 9147 §7); the record of the ACK is of epoch 3.
			if r := f.facts[8].Records; len(r) != 1 || r[0].Type != recordACK || r[0].Epoch != 3 ||
				fmt.Sprint(r[0].ACKed) != "[{2 0}]" {
				t.Errorf("frame 8: %+v", r)
			}
			if r := f.facts[c.closeFrame].Records; len(r) != 1 || r[0].Type != recordAlert || r[0].Epoch != c.lastEpoch || r[0].Encrypted {
				t.Errorf("close_notify's record: %+v", r)
			}
			if f.conn.Held() != 0 {
				t.Errorf("%d bytes held", f.conn.Held())
			}
		})
	}
}

// TestDTLS13KeyUpdateACKs: in the aes128gcm capture, the client's
// KeyUpdate (record 1 of epoch 3) is ACKed by the server, which then
// sends its own in epoch 3 (record 3), ACKed by the client in epoch 4.
func TestDTLS13KeyUpdateACKs(t *testing.T) {
	f := dtls13Pion(t, "dtls13-pion-aes128gcm", readKeyLog(t, "testdata/dtls13-pion-aes128gcm.keys"))
	for frame, want := range map[int64]string{12: "[{3 1}]", 14: "[{3 3}]"} {
		if r := f.facts[frame].Records; len(r) != 1 || r[0].Type != recordACK || fmt.Sprint(r[0].ACKed) != want {
			t.Errorf("frame %d: %+v, want an ACK of %s", frame, r, want)
		}
	}
	if r := f.facts[15].Records; len(r) != 1 || r[0].Epoch != 4 || r[0].Seq != 1 || r[0].Type != recordApplicationData {
		t.Errorf("frame 15 (the client's data after its KeyUpdate): %+v", r)
	}
}

// TestDTLS13WithoutKeys: the same captures without a key log: the
// handshake as far as the hellos tell it, every unified record counted
// and unopened.
func TestDTLS13WithoutKeys(t *testing.T) {
	f := dtls13Pion(t, "dtls13-pion-aes128gcm", nil)
	hs := f.conn.Snapshot()
	if hs.Decryption.Status != DecryptNoKeys || len(hs.ServerCertificates) != 0 || hs.Finished != [2]FinishedCheck{} {
		t.Errorf("%s, %d certificates, Finished %v", hs.Decryption.Status, len(hs.ServerCertificates), hs.Finished)
	}
	st := f.conn.Stats()
	if st.Unified != [2]int{6, 10} || st.Opened13 != [2]int{} || st.ACKs != [2]int{} {
		t.Errorf("unified %v, opened %v, ACKs %v", st.Unified, st.Opened13, st.ACKs)
	}
	if r := f.facts[8].Records; len(r) != 1 || !r[0].Encrypted || r[0].Epoch != 3 {
		t.Errorf("frame 8 without keys: %+v", r)
	}
}

// TestDTLS13WrongKeys: a key log with the capture's client random and
// secrets that are not its own says so, and nothing protected is read.
func TestDTLS13WrongKeys(t *testing.T) {
	b, err := os.ReadFile("testdata/dtls13-pion-aes128gcm.keys")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(line)
		sec, _ := hex.DecodeString(fs[2])
		sec[0] ^= 1
		out = append(out, fs[0]+" "+fs[1]+" "+hex.EncodeToString(sec))
	}
	log := NewKeyLog()
	if _, _, err := log.Add("wrong", strings.NewReader(strings.Join(out, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	f := dtls13Pion(t, "dtls13-pion-aes128gcm", log)
	hs := f.conn.Snapshot()
	if d := hs.Decryption; d.Status != DecryptWrongKeys || d.Opened != [2]int{} {
		t.Errorf("decryption %s (%s), opened %v", d.Status, d.Reason, d.Opened)
	}
	if len(hs.ServerCertificates) != 0 || hs.EncryptedExtensions != nil || hs.Finished != [2]FinishedCheck{} || f.conn.Stats().ACKs != [2]int{} {
		t.Error("fields read under wrong keys")
	}
}

// TestDTLS13FinishedMismatch: a transcript that differs from the one the
// peers hashed makes the Finished a mismatch (the check can fail).
func TestDTLS13FinishedMismatch(t *testing.T) {
	keys := NewLogKeys(readKeyLog(t, "testdata/dtls13-pion-chacha20.keys"))
	f := &dtlsFlow{conn: NewDTLSConn(true), facts: map[int64]DTLSDatagram{}}
	f.conn.SetKeys(keys)
	var client string
	for _, d := range readUDP(t, "testdata/dtls13-pion-chacha20.pcap") {
		if client == "" {
			client = d.src
		}
		dir := Dir(0)
		if d.src != client {
			dir = 1
		}
		if d.frame == 6 {
			// Before the server's flight, one byte of the transcript
			// changes: the server's Finished no longer matches it.
			f.conn.m.kt.transcript[20] ^= 1
		}
		f.conn.Datagram(dir, d.payload, d.frame, d.t)
	}
	if hs := f.conn.Snapshot(); hs.Finished[Server] != FinishedMismatch {
		t.Errorf("server Finished %v, want mismatch", hs.Finished[Server])
	}
}

// TestReconstructSeq13 follows RFC 9147 §4.2.2: the record number
// closest to one more than the highest seen with the low bits sent.
func TestReconstructSeq13(t *testing.T) {
	for _, c := range []struct {
		low     uint64
		bits    uint
		highest uint64
		any     bool
		want    uint64
	}{
		{0, 8, 0, false, 0},
		{5, 8, 0, false, 5},
		{3, 8, 0xfe, true, 0x103},    // past the wrap
		{0xfd, 8, 0x102, true, 0xfd}, // a late one from before it
		{0x10, 16, 0x1fff0, true, 0x20010},
		{0xfff0, 16, 0x20005, true, 0x1fff0},
		{0x0607, 16, 0x0001020304050606, true, 0x0001020304050607},
		{0x80, 8, 0, true, 0x80},
	} {
		if got := reconstructSeq13(c.low, c.bits, c.highest, c.any); got != c.want {
			t.Errorf("low %#x/%d bits, highest %#x: %#x, want %#x", c.low, c.bits, c.highest, got, c.want)
		}
	}
}

// sealDTLS13 seals a DTLS 1.3 record as RFC 9147 §4 says, with keys'
// AEAD, nonce and mask (each checked against pion's vectors in
// keyschedule_test.go) and none of the opening code: a unified header
// 001 0 S 1 EE (no CID, the length present), the additional data that
// header with the sequence number in clear, then the sequence number
// masked with the first bytes of the mask over the first 16 bytes of
// the ciphertext.
func sealDTLS13(k *TrafficKeys, epoch, seq uint64, twoBytes bool, typ uint8, content []byte) []byte {
	inner := append(append(bytes.Clone(content), typ), make([]byte, 16)...) // padded: a sample for short ones
	first := byte(0x24) | byte(epoch&3)
	hdr := []byte{first}
	if twoBytes {
		hdr[0] |= 0x08
		hdr = append(hdr, byte(seq>>8), byte(seq))
	} else {
		hdr = append(hdr, byte(seq))
	}
	n := len(inner) + k.AEAD().Overhead()
	hdr = append(hdr, byte(n>>8), byte(n))
	nonce := k.Nonce(seq)
	ct := k.AEAD().Seal(nil, nonce[:], inner, hdr)
	mask := k.Mask(ct)
	hdr[1] ^= mask[0]
	if twoBytes {
		hdr[2] ^= mask[1]
	}
	return append(hdr, ct...)
}

// dtls13Opener is an association whose client direction has DTLS 1.3
// keys of epoch 3 (the first application traffic secret) already.
func dtls13Opener(k *TrafficKeys) *DTLSConn {
	c := NewDTLSConn(true)
	c.prot13[0] = dtls13Dir{asked: true}
	c.prot13[0].app[1] = &dtls13Epoch{epoch: 3, keys: k}
	return c
}

func openWire(t *testing.T, c *DTLSConn, wire []byte, cidLen int) (dtls13Opened, error) {
	t.Helper()
	s := cryptobyte.String(wire)
	var r dtlsRecord
	if !readUnifiedHeader(&s, cidLen, &r) || !s.Empty() {
		t.Fatalf("not one unified record: %x", wire)
	}
	return c.open13(0, &r)
}

// TestDTLS13OpenPionVector opens the record of pion's vector (sealed by
// pion under the clear header 3fcafebabe0607002a: epoch 3, CID cafebabe,
// record number 0x0001020304050607) as it goes on the wire: with its
// sequence number masked.
func TestDTLS13OpenPionVector(t *testing.T) {
	for _, v := range dtls13Vectors {
		t.Run(v.name, func(t *testing.T) {
			k, err := ScheduleDTLS13.TrafficKeys(v.suite, unhex(t, v.secret))
			if err != nil {
				t.Fatal(err)
			}
			mask := unhex(t, v.mask)
			wire := unhex(t, v.ad)
			wire[5] ^= mask[0]
			wire[6] ^= mask[1]
			wire = append(wire, unhex(t, v.record)...)
			c := dtls13Opener(k)
			c.prot13[0].app[1].window.check(0x0001020304050606)
			c.prot13[0].app[1].highest = 0x0001020304050606
			o, err := openWire(t, c, wire, 4)
			if err != nil || o.typ != recordApplicationData || string(o.plain) != v.plain || o.seq != 0x0001020304050607 || o.epoch != 3 {
				t.Fatalf("opened %+v, %v", o, err)
			}
			// The same record with the sequence number as pion sealed it,
			// unmasked on the wire: it does not open.
			clear := append(unhex(t, v.ad), unhex(t, v.record)...)
			if _, err := openWire(t, dtls13Opener(k), clear, 4); !badMAC(err) {
				t.Errorf("a record whose number was not masked: %v", err)
			}
		})
	}
}

// TestDTLS13OpenSealed opens records sealed by sealDTLS13: 8- and 16-bit
// sequence numbers across their wrap, reordered and repeated, and two
// KeyUpdates (RFC 9147 §8: epochs 4 and 5, each with its own sn_key),
// under each of the five suites of RFC 8446 B.4.
func TestDTLS13OpenSealed(t *testing.T) {
	secret := sha512.Sum384([]byte("dtls13 sealed"))
	for _, suite := range []uint16{0x1301, 0x1302, 0x1303, 0x1304, 0x1305} {
		n := 32
		if suite == 0x1302 {
			n = 48
		}
		k3, err := ScheduleDTLS13.TrafficKeys(suite, secret[:n])
		if err != nil {
			t.Fatal(err)
		}
		c := dtls13Opener(k3)
		type rec struct {
			keys     *TrafficKeys
			epoch    uint64
			seq      uint64
			twoBytes bool
			dup      bool
		}
		k4 := k3.Next()
		k5 := k4.Next()
		var recs []rec
		for s := uint64(0); s < 300; s += 7 {
			recs = append(recs, rec{k3, 3, s, s%2 == 0, false})
		}
		recs = append(recs, rec{k3, 3, 250, false, false}, rec{k3, 3, 294, true, true}, rec{k3, 3, 301, false, false},
			rec{k4, 4, 0, false, false}, rec{k3, 3, 302, false, false}, rec{k4, 4, 1, true, false},
			rec{k5, 5, 0, true, false}, rec{k4, 4, 2, false, false}, rec{k5, 5, 0x1234, true, false})
		for i, r := range recs {
			content := []byte(fmt.Sprintf("record %d", i))
			o, err := openWire(t, c, sealDTLS13(r.keys, r.epoch, r.seq, r.twoBytes, recordApplicationData, content), 0)
			if err != nil || o.epoch != r.epoch || o.seq != r.seq || string(o.plain) != string(content) || o.duplicate != r.dup {
				t.Fatalf("suite %#x, record %d (epoch %d, seq %d): %+v, %v", suite, i, r.epoch, r.seq, o, err)
			}
		}
		// A changed header byte (the length) is in the additional data.
		w := sealDTLS13(k5, 5, 0x1235, true, recordApplicationData, []byte("x"))
		w = append(w, 0)
		w[4]++
		if _, err := openWire(t, c, w, 0); !badMAC(err) {
			t.Errorf("a record whose header changed: %v", err)
		}
		// An epoch two past the current one cannot be told from its bits:
		// no keys for it.
		if _, err := openWire(t, c, sealDTLS13(k5.Next().Next(), 7, 0, true, recordApplicationData, []byte("x")), 0); !errors.Is(err, errNoKeys) {
			t.Errorf("epoch 7 while 5 is current: %v", err)
		}
	}
}

// TestDTLS13FlightRetransmitted reads dtls13-pion-lost-flight.pcap: the
// server's first protected datagram (frame 6: EncryptedExtensions to
// Finished) never reached the client (the generator dropped it after
// recording it); a second later the client sends its ClientHello again
// (frames 7, 8) and the server its ServerHello and its flight (9, 10),
// under new record numbers (never one twice in an epoch: the AEAD nonce
// comes from it). With keys, the flight's messages are told
// as sent twice; each message is read once.
func TestDTLS13FlightRetransmitted(t *testing.T) {
	f := dtls13Pion(t, "dtls13-pion-lost-flight", readKeyLog(t, "testdata/dtls13-pion-lost-flight.keys"))
	hs := f.conn.Snapshot()
	if d := hs.Decryption; d.Status != DecryptDecrypted || d.Opened != [2]int{3, 11} {
		t.Errorf("decryption %s (%s), opened %v", d.Status, d.Reason, d.Opened)
	}
	if hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} {
		t.Errorf("Finished %v", hs.Finished)
	}
	for _, typ := range []MsgType{MsgEncryptedExtensions, MsgCertificate, MsgCertificateVerify, MsgFinished} {
		if n, first, last := f.conn.Sent(Server, typ); n != 2 || last-first != 4 {
			t.Errorf("server %s sent %d times, frames %d to %d; want twice, 4 frames apart", typ, n, first, last)
		}
	}
	first, again := f.facts[6].Records, f.facts[10].Records
	if len(first) != 4 || len(again) != 4 || !f.facts[10].Retransmission || f.facts[6].Retransmission || f.facts[10].Flight != f.facts[6].Flight {
		t.Fatalf("frame 6 %+v, frame 10 %+v", f.facts[6], f.facts[10])
	}
	for i := range again {
		if again[i].Seq != first[i].Seq+4 || again[i].Epoch != 2 || len(again[i].Fragments) != 1 || !again[i].Fragments[0].Retransmission {
			t.Errorf("record %d of frame 10: %+v (first sent as %+v)", i, again[i], first[i])
		}
	}
	if st := f.conn.Stats(); st.Retransmitted != [2]int{2, 2} || st.Duplicates != [2]int{} {
		t.Errorf("retransmitted %v, duplicates %v", st.Retransmitted, st.Duplicates)
	}
	if n := strings.Count(ladderTypes(hs, false), "server Finished"); n != 1 {
		t.Errorf("%d server Finished in the ladder", n)
	}
}

// TestDTLS13FlightRetransmittedWithoutKeys: without keys, the server's
// flight sent again is told by its shape (dtls13_opaque.go): frame 10's
// epoch 2 records have the lengths of frame 6's. The other captures,
// with no flight sent again, show none, nor do zeek's wolfSSL traces
// (one with a HelloRetryRequest, one with connection IDs).
func TestDTLS13FlightRetransmittedWithoutKeys(t *testing.T) {
	f := dtls13Pion(t, "dtls13-pion-lost-flight", nil)
	if !f.facts[10].Retransmission || f.facts[6].Retransmission {
		t.Errorf("frame 6 again %v, frame 10 again %v; want false, true", f.facts[6].Retransmission, f.facts[10].Retransmission)
	}
	if st := f.conn.Stats(); st.Retransmitted != [2]int{2, 2} || st.Opened13 != [2]int{} {
		t.Errorf("retransmitted %v, opened %v", st.Retransmitted, st.Opened13)
	}
	for _, name := range []string{"dtls13-pion-aes128gcm", "dtls13-pion-chacha20"} {
		if st := dtls13Pion(t, name, nil).conn.Stats(); st.Retransmitted != [2]int{} {
			t.Errorf("%s: retransmitted %v", name, st.Retransmitted)
		}
	}
	if !testenv.HaveShared("..") {
		return
	}
	for _, name := range []string{"tls/dtls13-wolfssl.pcap", "tls/dtls13-cid.pcap"} {
		for i, f := range feedDTLS(t, zeekTrace(t, name)) {
			for fr, d := range f.facts {
				if d.Retransmission && len(d.Records) > 0 && d.Records[0].Unified {
					t.Errorf("%s flow %d frame %d: a unified datagram taken as sent again: %+v", name, i, fr, d.Records)
				}
			}
		}
	}
}

// TestDTLS13AlertDecrypted reads dtls13-pion-bad-certificate.pcap: the
// client verifies the server's certificate against no roots and says
// bad_certificate in a record under its handshake keys (pion logs only
// the handshake secrets: the application ones never came to be). With
// keys the alert is read and the handshake failed; without, it is a
// protected record of alert size.
func TestDTLS13AlertDecrypted(t *testing.T) {
	const name = "dtls13-pion-bad-certificate"
	f := dtls13Pion(t, name, readKeyLog(t, "testdata/"+name+".keys"))
	hs := f.conn.Snapshot()
	if d := hs.Decryption; d.Status != DecryptDecrypted || d.Opened != [2]int{1, 4} {
		t.Errorf("decryption %s (%s), opened %v", d.Status, d.Reason, d.Opened)
	}
	if a := alertList(hs); a != "client bad_certificate" || hs.Alerts[0].Level != 2 || hs.Alerts[0].Encrypted {
		t.Errorf("alerts %q %+v", a, hs.Alerts)
	}
	if hs.Finished != [2]FinishedCheck{FinishedUnchecked, FinishedVerified} {
		t.Errorf("Finished %v, want the server's verified and no client's", hs.Finished)
	}
	if st := f.conn.State(); st.Phase != PhaseFailed || st.Alert == nil {
		t.Errorf("phase %s, alert %v", st.Phase, st.Alert)
	}
	if r := f.facts[7].Records; len(r) != 1 || r[0].Type != recordAlert || r[0].Epoch != 2 || r[0].Seq != 0 {
		t.Errorf("frame 7: %+v", r)
	}

	f = dtls13Pion(t, name, nil)
	hs = f.conn.Snapshot()
	if len(hs.Alerts) != 0 || f.conn.State().Phase == PhaseFailed || hs.Decryption.Status != DecryptNoKeys {
		t.Errorf("without keys: alerts %+v, phase %s, %s", hs.Alerts, f.conn.State().Phase, hs.Decryption.Status)
	}
}

// TestDTLS13PartialKeyLog: a key log with the handshake secrets only
// opens the handshake; the application records stay unread: partial.
func TestDTLS13PartialKeyLog(t *testing.T) {
	b, err := os.ReadFile("testdata/dtls13-pion-chacha20.keys")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "HANDSHAKE_TRAFFIC_SECRET") {
			lines = append(lines, l)
		}
	}
	log := NewKeyLog()
	if _, _, err := log.Add("handshake only", strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil || log.Len() != 1 {
		t.Fatal(err)
	}
	f := dtls13Pion(t, "dtls13-pion-chacha20", log)
	hs := f.conn.Snapshot()
	if d := hs.Decryption; d.Status != DecryptPartial || d.Opened != [2]int{1, 4} || d.Unopened != [2]int{2, 3} {
		t.Errorf("decryption %s (%s), opened %v, unopened %v", d.Status, d.Reason, d.Opened, d.Unopened)
	}
	if hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} || len(hs.ServerCertificates) != 1 {
		t.Errorf("Finished %v, %d certificates", hs.Finished, len(hs.ServerCertificates))
	}
}
