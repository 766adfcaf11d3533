package decoder

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// Datagrams built by hand, for what the captures do not show: hostile
// fragments, reordering, copies, and decryption.

// dtlsRec is a DTLSPlaintext record (RFC 6347 §4.1).
func dtlsRec(typ uint8, epoch uint16, seq uint64, body []byte) []byte {
	b := []byte{typ, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch)}
	b = append(b, byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq))
	b = append(b, byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

// dtlsFrag is a handshake fragment (RFC 6347 §4.2.2) of a message of
// total bytes.
func dtlsFrag(typ uint8, total int, mseq uint16, off int, data []byte) []byte {
	b := []byte{typ, byte(total >> 16), byte(total >> 8), byte(total), byte(mseq >> 8), byte(mseq),
		byte(off >> 16), byte(off >> 8), byte(off), byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data))}
	return append(b, data...)
}

// dtlsHelloBodies are a DTLS 1.2 ClientHello and ServerHello offering and
// choosing TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xc02f).
func dtlsHelloBodies() (ch, sh, crand, srand []byte) {
	crand, srand = bytes.Repeat([]byte{0xc1}, 32), bytes.Repeat([]byte{0x5e}, 32)
	ch = append([]byte{0xfe, 0xfd}, crand...)
	ch = append(ch, 0, 0, 0, 2, 0xc0, 0x2f, 1, 0) // session_id, cookie, suites, compression
	sh = append([]byte{0xfe, 0xfd}, srand...)
	sh = append(sh, 0, 0xc0, 0x2f, 0)
	return ch, sh, crand, srand
}

func TestDTLSReorderedFragmentsAndRetransmission(t *testing.T) {
	ch, _, _, _ := dtlsHelloBodies()
	c := NewDTLSConn(true)
	t0 := time.Unix(1e9, 0)
	parts := [][2]int{{20, len(ch)}, {0, 10}, {10, 20}}
	for i, p := range parts {
		d := c.Datagram(0, dtlsRec(22, 0, uint64(i), dtlsFrag(1, len(ch), 0, p[0], ch[p[0]:p[1]])), int64(i+1), t0)
		if d.Retransmission || d.Flight != 1 {
			t.Errorf("fragment %d: %+v", i, d)
		}
	}
	// The middle fragment again in a new record: a repeat, not new bytes.
	if d := c.Datagram(0, dtlsRec(22, 0, 3, dtlsFrag(1, len(ch), 0, 10, ch[10:20])), 4, t0); !d.Retransmission {
		t.Errorf("repeated fragment: %+v", d)
	}
	// The same record number again: a copy of a datagram.
	if d := c.Datagram(0, dtlsRec(22, 0, 3, dtlsFrag(1, len(ch), 0, 10, ch[10:20])), 5, t0); !d.Records[0].Duplicate || !d.Retransmission {
		t.Errorf("copied datagram: %+v", d)
	}
	// The whole message sent again on the timer.
	d := c.Datagram(0, dtlsRec(22, 0, 4, dtlsFrag(1, len(ch), 0, 0, ch)), 6, t0.Add(time.Second))
	if !d.Retransmission || d.Flight != 1 {
		t.Errorf("retransmitted ClientHello: %+v", d)
	}
	hs := c.Snapshot()
	if hs.ClientHello == nil || hs.RetryClientHello != nil || len(hs.Messages) != 1 {
		t.Fatalf("want one ClientHello read once: %+v", hs.Messages)
	}
	if n, first, last := c.Sent(Client, MsgClientHello); n != 2 || first != 1 || last != 6 {
		t.Errorf("ClientHello sent %d times, frames %d..%d; want 2, 1..6", n, first, last)
	}
	if st := c.Stats(); st.Duplicates[Client] != 1 || st.Retransmitted[Client] != 3 {
		t.Errorf("stats %+v", st)
	}
	if c.Held() != 0 {
		t.Errorf("%d bytes held", c.Held())
	}
}

// TestDTLSHostileFragments: a fragment's header reserves nothing: memory
// follows the bytes received, within the caps.
func TestDTLSHostileFragments(t *testing.T) {
	c := NewDTLSConn(true)
	t0 := time.Unix(1e9, 0)
	// 16 MiB announced, 4 bytes at its end: over the cap, followed only.
	c.Datagram(0, dtlsRec(22, 0, 0, dtlsFrag(11, 0xffffff, 0, 0xfffffb, []byte{1, 2, 3, 4})), 1, t0)
	if c.Held() != 0 {
		t.Errorf("a message over the cap holds %d bytes", c.Held())
	}
	// 60000 bytes announced, 10 at its end: 10 held.
	c.Datagram(0, dtlsRec(22, 0, 1, dtlsFrag(11, 60000, 1, 59990, make([]byte, 10))), 2, t0)
	if c.Held() != 10 {
		t.Errorf("held %d bytes, want the 10 received", c.Held())
	}
	// Large fragments of many messages: the connection's budget holds.
	for i := 2; i < 14; i++ {
		c.Datagram(0, dtlsRec(22, 0, uint64(i), dtlsFrag(11, 60000, uint16(i), 0, make([]byte, 30000))), int64(i+1), t0)
		if c.Held() > maxDTLSHeld {
			t.Fatalf("held %d bytes, over the budget", c.Held())
		}
	}
	var budget bool
	for _, p := range c.Snapshot().Problems {
		budget = budget || strings.Contains(p.Err, "budget")
	}
	if !budget {
		t.Errorf("the budget exceeded is not said: %+v", c.Snapshot().Problems)
	}
	// Garbage after a record: counted, no panic.
	if d := c.Datagram(1, append(dtlsRec(21, 0, 0, []byte{2, 40}), 0xff, 0xff), 20, t0); d.Trailing != 2 {
		t.Errorf("trailing %d", d.Trailing)
	}
	c.Release()
	if c.Held() != 0 {
		t.Errorf("held %d after Release", c.Held())
	}
}

// fixedKeys opens DTLS 1.2 records with a master secret, as LogKeys does
// with a key log's CLIENT_RANDOM line.
type fixedKeys struct{ master []byte }

func (k fixedKeys) Cipher(from Side, e Epoch, hs *Handshake) (RecordCipher, error) {
	if hs.ServerHello == nil || hs.LatestClientHello() == nil {
		return nil, errNoKeys
	}
	return newCipher12(TLSEquivalent(hs.Version()), hs.ServerHello.CipherSuite, k.master, hs.LatestClientHello().Random, hs.ServerHello.Random, from == Client, false)
}

// sealDTLSGCM protects a record as RFC 6347 §4.1.2.1 and RFC 5288 §3 say:
// nonce = salt (4 bytes of the key block) || explicit 8 bytes; additional
// data = epoch || sequence_number || type || version || length.
func sealDTLSGCM(key, salt []byte, typ uint8, epoch uint16, seq uint64, plain []byte, adEpoch uint16) []byte {
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	explicit := make([]byte, 8)
	binary.BigEndian.PutUint64(explicit, 0x1122334455660000+seq)
	nonce := append(append([]byte{}, salt...), explicit...)
	ad := make([]byte, 13)
	binary.BigEndian.PutUint16(ad, adEpoch)
	ad[2], ad[3], ad[4], ad[5], ad[6], ad[7] = byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	ad[8], ad[9], ad[10] = typ, 0xfe, 0xfd
	binary.BigEndian.PutUint16(ad[11:], uint16(len(plain)))
	return dtlsRec(typ, epoch, seq, append(explicit, aead.Seal(nil, nonce, plain, ad)...))
}

func TestDTLS12Decryption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		adEpoch uint16 // the epoch the sender put in the additional data
		want    DecryptStatus
	}{{"epoch in the additional data", 1, DecryptDecrypted}, {"epoch left out", 0, DecryptWrongKeys}} {
		t.Run(tc.name, func(t *testing.T) {
			ch, sh, crand, srand := dtlsHelloBodies()
			master := bytes.Repeat([]byte{0x33}, 48)
			// The client's write key and salt (RFC 5246 §6.3: no MAC keys for an AEAD).
			kb := prf12(VersionTLS12, 0xc02f, master, "key expansion", append(append([]byte{}, srand...), crand...), 2*(16+4))
			key, salt := kb[:16], kb[32:36]
			c := NewDTLSConn(true)
			c.SetKeys(fixedKeys{master})
			t0 := time.Unix(1e9, 0)
			c.Datagram(0, dtlsRec(22, 0, 0, dtlsFrag(1, len(ch), 0, 0, ch)), 1, t0)
			c.Datagram(1, append(dtlsRec(22, 0, 0, dtlsFrag(2, len(sh), 0, 0, sh)), dtlsRec(22, 0, 1, dtlsFrag(14, 0, 1, 0, nil))...), 2, t0)
			cke := []byte{1, 0}
			fin := append(dtlsFrag(20, 12, 2, 0, bytes.Repeat([]byte{0xf1}, 12)), []byte{}...)
			flight := append(dtlsRec(22, 0, 1, dtlsFrag(16, len(cke), 1, 0, cke)), dtlsRec(20, 0, 2, []byte{1})...)
			flight = append(flight, sealDTLSGCM(key, salt, 22, 1, 0, fin, tc.adEpoch)...)
			c.Datagram(0, flight, 3, t0)
			c.Datagram(0, sealDTLSGCM(key, salt, 23, 1, 1, []byte("hello"), tc.adEpoch), 4, t0)
			hs := c.Snapshot()
			if hs.Decryption.Status != tc.want {
				t.Fatalf("decryption %s (%s), want %s", hs.Decryption.Status, hs.Decryption.Reason, tc.want)
			}
			fm := hs.First(Client, MsgFinished)
			if fm == nil {
				t.Fatalf("no client Finished: %+v", hs.Messages)
			}
			if read := !fm.Encrypted; read != (tc.want == DecryptDecrypted) {
				t.Errorf("Finished read %v: %+v", read, fm)
			}
			if tc.want == DecryptDecrypted && hs.Decryption.Opened[Client] != 2 {
				t.Errorf("opened %v", hs.Decryption.Opened)
			}
		})
	}
}

// TestDTLSMaxVersion: DTLS versions count down, so DTLS 1.3 (0xfefc) is
// above DTLS 1.2 (0xfefd).
func TestDTLSMaxVersion(t *testing.T) {
	ch := &ClientHello{Version: VersionDTLS12, SupportedVersions: []uint16{0x0a0a, VersionDTLS13, VersionDTLS12}}
	if v := ch.MaxVersion(); v != VersionDTLS13 {
		t.Errorf("MaxVersion %s, want DTLS 1.3", VersionName(v))
	}
	ch.SupportedVersions = []uint16{VersionTLS12, VersionTLS13}
	if v := ch.MaxVersion(); v != VersionTLS13 {
		t.Errorf("MaxVersion %s, want TLS 1.3", VersionName(v))
	}
}

// TestDTLSBudget: associations share a Budget; over it, one lets go of
// its incomplete messages and still reads whole ones.
func TestDTLSBudget(t *testing.T) {
	b := &Budget{Limit: 100 << 10}
	t0 := time.Unix(1e9, 0)
	var conns []*DTLSConn
	for i := 0; i < 4; i++ {
		c := NewDTLSConn(true)
		c.SetBudget(b)
		c.Datagram(1, dtlsRec(22, 0, 0, dtlsFrag(11, 60000, 0, 0, make([]byte, 30000))), 1, t0)
		conns = append(conns, c)
		if b.Used() > b.Limit {
			t.Fatalf("used %d over the limit %d", b.Used(), b.Limit)
		}
	}
	if b.Exceeded != 1 || b.Used() != 90000 {
		t.Errorf("exceeded %d, used %d; want 1, 90000", b.Exceeded, b.Used())
	}
	last := conns[3]
	ch, _, _, _ := dtlsHelloBodies()
	last.Datagram(0, dtlsRec(22, 0, 0, dtlsFrag(1, len(ch), 0, 0, ch)), 2, t0)
	if last.Snapshot().ClientHello == nil || last.Held() != 0 {
		t.Errorf("over the budget a whole ClientHello is still read (held %d)", last.Held())
	}
	for _, c := range conns {
		c.Release()
	}
	if b.Used() != 0 {
		t.Errorf("used %d after Release", b.Used())
	}
}
