package decoder

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// dtlsSeedDatagrams are the DTLS datagrams of zeek's traces when the
// corpus is there, and a hand-made exchange always.
func dtlsSeedDatagrams(f *testing.F) [][]byte {
	ch, sh, _, _ := dtlsHelloBodies()
	seeds := [][]byte{
		dtlsRec(22, 0, 0, dtlsFrag(1, len(ch), 0, 0, ch)),
		append(dtlsRec(22, 0, 0, dtlsFrag(2, len(sh), 0, 0, sh)), dtlsRec(20, 0, 1, []byte{1})...),
		{0x2e, 0x00, 0x01, 0x00, 0x03, 1, 2, 3},
	}
	if testenv.HaveShared("..") {
		for _, name := range []string{"tls/dtls1_0.pcap", "tls/dtls1_2.pcap", "tls/dtls13-wolfssl.pcap", "tls/dtls13-cid.pcap", "tls/webrtc-stun.pcap"} {
			for _, d := range readUDP(f, zeekTrace(f, name)) {
				seeds = append(seeds, d.payload)
			}
		}
	}
	return seeds
}

// FuzzDTLSRecords feeds datagrams to an association: data is a series of
// [direction and length (2 bytes)][payload]. Nothing may panic, and what
// is held stays within the budget.
func FuzzDTLSRecords(f *testing.F) {
	seeds := dtlsSeedDatagrams(f)
	var all []byte
	for i, s := range seeds {
		if len(s) > 0x7fff {
			continue
		}
		n := len(s) | (i%2)<<15
		all = append(all, byte(n>>8), byte(n))
		all = append(all, s...)
		f.Add(append([]byte{byte(len(s) >> 8), byte(len(s))}, s...))
	}
	f.Add(all)
	// pion's DTLS 1.3 associations whole, with their directions: with the
	// key log below their records open, so the fuzzer starts inside
	// DTLS 1.3's protection.
	for _, name := range []string{"dtls13-pion-aes128gcm", "dtls13-pion-chacha20", "dtls13-pion-lost-flight", "dtls13-pion-bad-certificate"} {
		var whole []byte
		var client string
		for _, d := range readUDP(f, "testdata/"+name+".pcap") {
			if client == "" {
				client = d.src
			}
			n := len(d.payload)
			if d.src != client {
				n |= 1 << 15
			}
			whole = append(append(whole, byte(n>>8), byte(n)), d.payload...)
		}
		f.Add(whole)
	}
	log := NewKeyLog()
	for _, name := range []string{"dtls13-pion-aes128gcm", "dtls13-pion-chacha20", "dtls13-pion-lost-flight", "dtls13-pion-bad-certificate"} {
		b, err := os.ReadFile("testdata/" + name + ".keys")
		if err != nil {
			f.Fatal(err)
		}
		log.Add(name, bytes.NewReader(b))
	}
	keys := fuzzKeys{fixedKeys{bytes.Repeat([]byte{1}, 48)}, NewLogKeys(log)}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewDTLSConn(false)
		c.SetKeys(keys)
		b := &Budget{Limit: 32 << 10}
		c.SetBudget(b)
		t0 := time.Unix(1e9, 0)
		for frame := int64(1); len(data) >= 2; frame++ {
			n := int(data[0])<<8 | int(data[1])
			dir := Dir(n >> 15)
			n &= 0x7fff
			data = data[2:]
			n = min(n, len(data))
			DetectDTLS(data[:n])
			c.Datagram(dir, data[:n], frame, t0)
			data = data[n:]
			if c.Held() > maxDTLSHeld || c.Held() < 0 || b.Used() != int64(c.Held()) {
				t.Fatalf("held %d, budget used %d", c.Held(), b.Used())
			}
		}
		c.Flush(t0)
		hs := c.Snapshot()
		_ = c.State()
		_ = c.Transmissions()
		if len(hs.Messages) > maxMessages {
			t.Fatalf("%d ladder entries", len(hs.Messages))
		}
		c.Release()
		if c.Held() != 0 || b.Used() != 0 {
			t.Fatalf("held %d, budget used %d after Release", c.Held(), b.Used())
		}
	})
}

// FuzzDTLSFragments cuts a known ClientHello into fragments the fuzzer
// chooses (message_seq, offset, length, in any order, repeated, with
// lengths that lie): whenever a ClientHello is read, it must be that one,
// and memory stays within the budget.
func FuzzDTLSFragments(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 200, 0, 0})
	f.Add([]byte{0, 0, 20, 0, 200, 0, 0, 0, 0, 0, 0, 20, 0, 0})
	f.Add([]byte{0, 0xff, 0xff, 0, 1, 0, 0, 1, 0, 0, 0, 50, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 10, 1, 0, 0, 0, 10, 0, 200, 0, 0})
	ch, _, crand, _ := dtlsHelloBodies()
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewDTLSConn(true)
		t0 := time.Unix(1e9, 0)
		// Each fragment: message_seq (1), offset (2), length (2), and
		// whether the total length is the true one (1, else lies).
		for i := 0; len(data) >= 7; i++ {
			seq, off, n, honest := uint16(data[0]), int(data[1])<<8|int(data[2]), int(data[3])<<8|int(data[4]), data[5]
			data = data[7:]
			total := len(ch)
			if honest&1 != 0 {
				total = int(honest) << 10 // up to 255 KiB announced
			}
			var body []byte
			if off < len(ch) {
				body = ch[off:min(len(ch), off+n)]
			}
			if off+len(body) > total {
				continue
			}
			c.Datagram(0, dtlsRec(22, 0, uint64(i), dtlsFrag(1, total, seq, off, body)), int64(i+1), t0)
			if c.Held() > maxDTLSHeld {
				t.Fatalf("held %d", c.Held())
			}
		}
		c.Flush(t0)
		for _, h := range []*ClientHello{c.Snapshot().ClientHello, c.Snapshot().RetryClientHello} {
			if h != nil && !bytes.Equal(h.Random, crand) {
				t.Fatalf("a ClientHello read with random %x", h.Random)
			}
		}
	})
}

// fuzzKeys opens DTLS 1.2 records with fixed keys and DTLS 1.3 ones with a
// key log's secrets.
type fuzzKeys struct {
	fixed fixedKeys
	log   *LogKeys
}

func (k fuzzKeys) Cipher(from Side, e Epoch, hs *Handshake) (RecordCipher, error) {
	return k.fixed.Cipher(from, e, hs)
}

func (k fuzzKeys) trafficKeys13(from Side, e Epoch, hs *Handshake) (*TrafficKeys, error) {
	return k.log.trafficKeys13(from, e, hs)
}

func (k fuzzKeys) handshakeSecret13(from Side, hs *Handshake) []byte {
	return k.log.handshakeSecret13(from, hs)
}
