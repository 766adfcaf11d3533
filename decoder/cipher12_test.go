package decoder

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"hash"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Real handshakes of crypto/tls, opened with the master secret its key
// log gives: every TLS 1.0-1.2 suite Go speaks with an RSA certificate,
// in every version the suite allows.

var (
	c12CertOnce sync.Once
	c12CertVal  tls.Certificate
	c12CertErr  error
)

func c12Cert(t *testing.T) tls.Certificate {
	c12CertOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			c12CertErr = err
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(12), Subject: pkix.Name{CommonName: "cipher12.test"},
			DNSNames: []string{"cipher12.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		c12CertVal, c12CertErr = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, err
	})
	if c12CertErr != nil {
		t.Fatal(c12CertErr)
	}
	return c12CertVal
}

// c12Recorder wraps the client's end of the pipe: its writes are the
// client's stream, its reads the server's, in the order the client saw.
type c12Recorder struct {
	net.Conn
	mu     sync.Mutex
	chunks []chunk
}

func (r *c12Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.chunks = append(r.chunks, chunk{Client, append([]byte(nil), p...)})
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *c12Recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 {
		r.mu.Lock()
		r.chunks = append(r.chunks, chunk{Server, append([]byte(nil), p[:n]...)})
		r.mu.Unlock()
	}
	return n, err
}

// c12Session is one recorded connection.
type c12Session struct {
	chunks         []chunk
	state          tls.ConnectionState
	master         []byte
	clientRandom   []byte
	sent, received []byte // application data the client wrote, the server wrote
	loose          bool   // which alerts were sent is not known
}

// c12Messages are what each side writes: short, block-sized, and longer
// than one record.
var (
	c12ClientMsgs = [][]byte{[]byte("hello from client"), bytes.Repeat([]byte("0123456789abcdef"), 200)}
	c12ServerMsgs = [][]byte{[]byte("hello from server"), bytes.Repeat([]byte("server says "), 2000)}
)

func c12Run(t *testing.T, version, suite uint16) c12Session {
	t.Helper()
	cPipe, sPipe := net.Pipe()
	rec := &c12Recorder{Conn: cPipe}
	var keylog bytes.Buffer
	client := tls.Client(rec, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version,
		CipherSuites: []uint16{suite}, KeyLogWriter: &keylog})
	server := tls.Server(sPipe, &tls.Config{Certificates: []tls.Certificate{c12Cert(t)}, MinVersion: version,
		MaxVersion: version, CipherSuites: []uint16{suite}})
	var sess c12Session
	for _, m := range c12ClientMsgs {
		sess.sent = append(sess.sent, m...)
	}
	for _, m := range c12ServerMsgs {
		sess.received = append(sess.received, m...)
	}
	serr := make(chan error, 1)
	go func() {
		defer server.Close()
		got := make([]byte, len(sess.sent))
		if _, err := io.ReadFull(server, got); err != nil {
			serr <- err
			return
		}
		if !bytes.Equal(got, sess.sent) {
			serr <- errors.New("server read something else")
			return
		}
		for _, m := range c12ServerMsgs {
			if _, err := server.Write(m); err != nil {
				serr <- err
				return
			}
		}
		io.Copy(io.Discard, server) // until the client's close_notify
		serr <- nil
	}()
	for _, m := range c12ClientMsgs {
		if _, err := client.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, len(sess.received))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	sess.state = client.ConnectionState()
	client.Close()
	if err := <-serr; err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	sess.chunks = rec.chunks
	rec.mu.Unlock()
	sess.clientRandom, sess.master = c12KeyLog(t, keylog.String())
	return sess
}

// c12KeyLog reads the NSS key log's CLIENT_RANDOM line.
func c12KeyLog(t *testing.T, log string) (clientRandom, master []byte) {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "CLIENT_RANDOM" {
			cr, err1 := hex.DecodeString(f[1])
			ms, err2 := hex.DecodeString(f[2])
			if err1 != nil || err2 != nil || len(cr) != 32 || len(ms) != 48 {
				t.Fatalf("bad key log line %q", sc.Text())
			}
			return cr, ms
		}
	}
	t.Fatalf("no CLIENT_RANDOM in key log %q", log)
	return nil, nil
}

type c12Record struct {
	from    Side
	typ     uint8
	version uint16
	body    []byte
}

// c12Records frames both streams into records, in the order the client
// saw them complete.
func c12Records(t *testing.T, chunks []chunk) []c12Record {
	var bufs [2][]byte
	var out []c12Record
	for _, ch := range chunks {
		i := 0
		if ch.from == Server {
			i = 1
		}
		bufs[i] = append(bufs[i], ch.data...)
		for len(bufs[i]) >= 5 {
			n := int(binary.BigEndian.Uint16(bufs[i][3:5]))
			if len(bufs[i]) < 5+n {
				break
			}
			b := bufs[i]
			out = append(out, c12Record{ch.from, b[0], binary.BigEndian.Uint16(b[1:3]), append([]byte(nil), b[5:5+n]...)})
			bufs[i] = b[5+n:]
		}
	}
	if len(bufs[0])+len(bufs[1]) != 0 {
		t.Fatalf("partial records left: %d, %d bytes", len(bufs[0]), len(bufs[1]))
	}
	return out
}

// c12HelloRandom finds the random of the first message of type mt.
func c12HelloRandom(transcript []byte, mt uint8) []byte {
	for len(transcript) >= 4 {
		n := int(transcript[1])<<16 | int(transcript[2])<<8 | int(transcript[3])
		if len(transcript) < 4+n {
			return nil
		}
		if transcript[0] == mt && n >= 34 {
			return transcript[4+2 : 4+34]
		}
		transcript = transcript[4+n:]
	}
	return nil
}

// c12Open walks the records: plaintext handshake messages go to the
// transcript; after each side's ChangeCipherSpec its records are opened,
// the first being its Finished, then application data and alerts.
// encrypt_then_mac is on when the ServerHello says so (RFC 7366 §2).
func c12Open(t *testing.T, sess c12Session) (transcript []byte) {
	t.Helper()
	version, suite := sess.state.Version, sess.state.CipherSuite
	var ciphers, wrong [2]RecordCipher
	var seqs [2]uint64
	var app [2][]byte
	var finished, alerts [2]int
	wrongMaster := bytes.Clone(sess.master)
	wrongMaster[0] ^= 1
	for _, r := range c12Records(t, sess.chunks) {
		d := 0
		if r.from == Server {
			d = 1
		}
		if ciphers[d] == nil {
			switch r.typ {
			case 22:
				transcript = append(transcript, r.body...)
			case 20:
				cr, sr := c12HelloRandom(transcript, typeClientHello), c12HelloRandom(transcript, typeServerHello)
				if !bytes.Equal(cr, sess.clientRandom) || sr == nil {
					t.Fatalf("client random %x, key log's %x; server random %x", cr, sess.clientRandom, sr)
				}
				etm := c12ServerExtension(transcript, 22)
				var err error
				ciphers[d], err = newCipher12(version, suite, sess.master, cr, sr, r.from == Client, etm)
				if err != nil {
					t.Fatal(err)
				}
				wrong[d], err = newCipher12(version, suite, wrongMaster, cr, sr, r.from == Client, etm)
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("plaintext record of type %d", r.typ)
			}
			continue
		}
		saved := bytes.Clone(r.body)
		if _, _, err := wrong[d].Open(r.typ, r.version, r.body, seqs[d]); !errors.Is(err, errBadRecordMAC12) {
			t.Errorf("%v record %d with a wrong master secret: %v", r.from, seqs[d], err)
		}
		inner, plain, err := ciphers[d].Open(r.typ, r.version, r.body, seqs[d])
		if err != nil {
			t.Fatalf("%v record %d (type %d, %d bytes): %v", r.from, seqs[d], r.typ, len(r.body), err)
		}
		if !bytes.Equal(saved, r.body) {
			t.Fatal("Open modified the body")
		}
		if inner != r.typ {
			t.Errorf("inner type %d, record's %d", inner, r.typ)
		}
		seqs[d]++
		switch r.typ {
		case 22:
			if seqs[d] != 1 || len(plain) != 16 || plain[0] != typeFinished || plain[3] != 12 {
				t.Fatalf("%v: encrypted handshake record %x is not the first Finished", r.from, plain)
			}
			want := finishedVerifyData12(version, suite, sess.master, r.from == Client, transcriptHash12(version, suite, transcript))
			if !bytes.Equal(plain[4:], want) {
				t.Errorf("%v Finished verify_data %x, want %x", r.from, plain[4:], want)
			}
			finished[d]++
			transcript = append(transcript, plain...)
		case 23:
			app[d] = append(app[d], plain...)
		case 21:
			if len(plain) != 2 || !sess.loose && !bytes.Equal(plain, []byte{1, 0}) {
				t.Errorf("%v alert %x, want close_notify", r.from, plain)
			}
			alerts[d]++
		default:
			t.Errorf("%v encrypted record of type %d", r.from, r.typ)
		}
	}
	if sess.loose {
		// Another stack's run: which alerts are sent depends on how it
		// was stopped.
		t.Logf("alerts %v", alerts)
		alerts[0] = 1
	}
	if finished != [2]int{1, 1} || alerts[0] != 1 {
		t.Errorf("Finished messages %v, alerts %v", finished, alerts)
	}
	if !bytes.Equal(app[0], sess.sent) || !bytes.Equal(app[1], sess.received) {
		t.Errorf("application data: client %d bytes (want %d), server %d bytes (want %d)",
			len(app[0]), len(sess.sent), len(app[1]), len(sess.received))
	}
	return transcript
}

// c12GoSuites are the TLS 1.0-1.2 suites crypto/tls speaks with an RSA
// certificate, insecure ones (RC4, 3DES, RSA key exchange) included.
func c12GoSuites() []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if strings.Contains(s.Name, "ECDSA") || !strings.Contains(s.Name, "_WITH_") {
			continue
		}
		out = append(out, s)
	}
	return out
}

func TestCipher12GoHandshakes(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range c12GoSuites() {
		for _, v := range s.SupportedVersions {
			if v > tls.VersionTLS12 {
				continue
			}
			t.Run(tls.VersionName(v)+"/"+s.Name, func(t *testing.T) {
				sess := c12Run(t, v, s.ID)
				if sess.state.Version != v || sess.state.CipherSuite != s.ID {
					t.Fatalf("negotiated %x %x", sess.state.Version, sess.state.CipherSuite)
				}
				c12Open(t, sess)
				// Exported keying material is the PRF with the client's
				// and server's randoms (RFC 5705 §4): a check of prf12
				// that does not go through this file's own hashes.
				sr := c12HelloRandom(c12Transcript(t, sess), typeServerHello)
				for _, ctx := range [][]byte{nil, []byte("context")} {
					ekm, err := sess.state.ExportKeyingMaterial("EXPERIMENTAL cipher12", ctx, 77)
					if err != nil {
						t.Fatal(err)
					}
					seed := append(bytes.Clone(sess.clientRandom), sr...)
					if ctx != nil {
						seed = append(binary.BigEndian.AppendUint16(seed, uint16(len(ctx))), ctx...)
					}
					if got := prf12(v, s.ID, sess.master, "EXPERIMENTAL cipher12", seed, 77); !bytes.Equal(got, ekm) {
						t.Errorf("prf12 %x, crypto/tls exports %x", got, ekm)
					}
				}
				seen[CipherSuite(s.ID).Cipher+"/"+CipherSuite(s.ID).MAC+"/"+tls.VersionName(v)] = true
			})
		}
	}
	t.Logf("covered: %v", seen)
}

// c12Transcript is the plaintext handshake messages before any
// ChangeCipherSpec.
func c12Transcript(t *testing.T, sess c12Session) []byte {
	var tr []byte
	for _, r := range c12Records(t, sess.chunks) {
		if r.typ == 20 {
			break
		}
		if r.typ == 22 {
			tr = append(tr, r.body...)
		}
	}
	return tr
}

// A wrong master secret fails every record with errBadRecordMAC12 (that
// is checked record by record in c12Open); short bodies are malformed,
// not a wrong key.
func TestCipher12Malformed(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, tc := range []struct {
		suite    uint16
		version  uint16
		etm      bool
		shortest int // bodies shorter than this are malformed
	}{
		{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.VersionTLS12, false, 8 + 16},
		{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.VersionTLS12, false, 16},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS12, false, 16 + 32},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS10, false, 32},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS12, true, 16 + 16 + 20},
		{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.VersionTLS11, false, 8 + 24},
		{tls.TLS_RSA_WITH_RC4_128_SHA, tls.VersionTLS12, false, 20},
	} {
		for n := 0; n < tc.shortest; n++ {
			c, err := newCipher12(tc.version, tc.suite, master, cr, sr, true, tc.etm)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Open(23, tc.version, make([]byte, n), 0)
			if !errors.Is(err, errMalformedRecord12) {
				t.Errorf("%s %x etm=%v, %d bytes: %v, want malformed", CipherSuiteName(tc.suite), tc.version, tc.etm, n, err)
			}
		}
		c, _ := newCipher12(tc.version, tc.suite, master, cr, sr, true, tc.etm)
		if _, _, err := c.Open(23, tc.version, make([]byte, tc.shortest+48), 0); !errors.Is(err, errBadRecordMAC12) {
			t.Errorf("%s: zeros of a plausible length: %v, want bad MAC", CipherSuiteName(tc.suite), err)
		}
	}
	for _, s := range []uint16{0x0041 /* CAMELLIA */, 0x0003 /* EXPORT */, 0x1301 /* TLS 1.3 */, 0xffff} {
		if _, err := newCipher12(tls.VersionTLS12, s, master, cr, sr, true, false); !errors.Is(err, errUnsupportedCipher12) {
			t.Errorf("%s: %v", CipherSuiteName(s), err)
		}
	}
	if _, err := newCipher12(VersionSSL30, tls.TLS_RSA_WITH_AES_128_CBC_SHA, master, cr, sr, true, false); !errors.Is(err, errUnsupportedCipher12) {
		t.Errorf("SSL 3.0: %v", err)
	}
}

// CCM is wired at merge; until then it is unsupported, and the explicit
// nonce layout is that of GCM (RFC 6655 §3), checked here with a GCM
// stand-in.
func TestCipher12CCMFactory(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	const ccm8 = 0xc0a0 // TLS_RSA_WITH_AES_128_CCM_8
	saved := ccmFactory
	defer func() { ccmFactory = saved }()
	ccmFactory = nil
	if _, err := newCipher12(tls.VersionTLS12, ccm8, master, cr, sr, true, false); !errors.Is(err, errUnsupportedCipher12) {
		t.Fatalf("no factory: %v", err)
	}
	var tag int
	ccmFactory = func(b cipher.Block, tagSize int) (cipher.AEAD, error) { tag = tagSize; return cipher.NewGCM(b) }
	c, err := newCipher12(tls.VersionTLS12, ccm8, master, cr, sr, true, false)
	if err != nil || tag != 8 {
		t.Fatalf("factory: %v, tag %d", err, tag)
	}
	kb := prf12(tls.VersionTLS12, ccm8, master, "key expansion", append(bytes.Clone(sr), cr...), 40)
	block, _ := aes.NewCipher(kb[:16])
	g, _ := cipher.NewGCM(block)
	explicit := []byte("explicit")
	nonce := append(bytes.Clone(kb[32:36]), explicit...)
	var ad [13]byte
	body := g.Seal(bytes.Clone(explicit), nonce, []byte("ccm layout"), header12(&ad, 5, 23, tls.VersionTLS12, 10))
	if _, p, err := c.Open(23, tls.VersionTLS12, body, 5); err != nil || string(p) != "ccm layout" {
		t.Fatalf("open: %q %v", p, err)
	}
}

// c12Sealer protects records as a CBC sender does (RFC 5246 §6.2.3.2,
// RFC 7366 §3), written apart from cbc12 to check it, encrypt_then_mac
// above all: crypto/tls does not speak it.
type c12Sealer struct {
	block   cipher.Block
	mac     func() hash.Hash
	macKey  []byte
	etm     bool
	chained []byte // TLS 1.0
}

func c12NewSealer(t testing.TB, version, suite uint16, master, cr, sr []byte, fromClient, etm bool) *c12Sealer {
	p, ok := suite12Params(suite)
	if !ok {
		t.Fatalf("suite %x", suite)
	}
	kb := prf12(version, suite, master, "key expansion", append(bytes.Clone(sr), cr...), 2*(p.macLen+p.keyLen+p.ivLen))
	side := 0
	if !fromClient {
		side = 1
	}
	macKey := kb[side*p.macLen : (side+1)*p.macLen]
	kb = kb[2*p.macLen:]
	key := kb[side*p.keyLen : (side+1)*p.keyLen]
	iv := kb[2*p.keyLen+side*p.ivLen : 2*p.keyLen+(side+1)*p.ivLen]
	s := &c12Sealer{mac: p.mac, macKey: macKey, etm: etm}
	var err error
	if p.cipher == "3DES_EDE_CBC" {
		s.block, err = des.NewTripleDESCipher(key)
	} else {
		s.block, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	if version == tls.VersionTLS10 {
		s.chained = bytes.Clone(iv)
	}
	return s
}

func (s *c12Sealer) hmac(seq uint64, typ uint8, version uint16, data []byte) []byte {
	m := hmac.New(s.mac, s.macKey)
	var ad [13]byte
	m.Write(header12(&ad, seq, typ, version, len(data)))
	m.Write(data)
	return m.Sum(nil)
}

func (s *c12Sealer) seal(seq uint64, typ uint8, version uint16, plain []byte, extraPad int) []byte {
	bs := s.block.BlockSize()
	data := bytes.Clone(plain)
	if !s.etm {
		data = append(data, s.hmac(seq, typ, version, plain)...)
	}
	pad := bs - len(data)%bs - 1 + extraPad*bs
	for range pad + 1 {
		data = append(data, byte(pad))
	}
	iv := s.chained
	var out []byte
	if iv == nil {
		iv = make([]byte, bs)
		rand.Read(iv)
		out = bytes.Clone(iv)
	}
	ct := make([]byte, len(data))
	cipher.NewCBCEncrypter(s.block, iv).CryptBlocks(ct, data)
	if s.chained != nil {
		copy(s.chained, ct[len(ct)-bs:])
	}
	out = append(out, ct...)
	if s.etm {
		out = append(out, s.hmac(seq, typ, version, out)...)
	}
	return out
}

func TestCipher12SealedCBC(t *testing.T) {
	master := bytes.Repeat([]byte{0x4d}, 48)
	cr, sr := bytes.Repeat([]byte{0xc1}, 32), bytes.Repeat([]byte{0x5e}, 32)
	suites := []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
		0xc028 /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 */}
	for _, suite := range suites {
		for _, version := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12} {
			for _, etm := range []bool{false, true} {
				for _, fromClient := range []bool{true, false} {
					s := c12NewSealer(t, version, suite, master, cr, sr, fromClient, etm)
					c, err := newCipher12(version, suite, master, cr, sr, fromClient, etm)
					if err != nil {
						t.Fatal(err)
					}
					name := CipherSuiteName(suite) + " " + tls.VersionName(version)
					for seq, n := range []int{0, 1, 15, 16, 17, 100, 1000, 5} {
						plain := bytes.Repeat([]byte{byte(seq)}, n)
						body := s.seal(uint64(seq), 23, version, plain, seq%3)
						if seq == 4 {
							// A record damaged before its last block
							// fails alone; TLS 1.0's chained IV moves
							// on all the same.
							body[0] ^= 0x80
							if _, _, err := c.Open(23, version, body, uint64(seq)); !errors.Is(err, errBadRecordMAC12) {
								t.Errorf("%s etm=%v: damaged record: %v", name, etm, err)
							}
							continue
						}
						_, got, err := c.Open(23, version, body, uint64(seq))
						if err != nil || !bytes.Equal(got, plain) {
							t.Fatalf("%s etm=%v client=%v record %d: %v, %d bytes", name, etm, fromClient, seq, err, len(got))
						}
					}
				}
			}
		}
	}
}

// RC4 and NULL: the key stream runs on across a record that fails.
func TestCipher12Stream(t *testing.T) {
	master := bytes.Repeat([]byte{0x4d}, 48)
	cr, sr := bytes.Repeat([]byte{0xc1}, 32), bytes.Repeat([]byte{0x5e}, 32)
	for _, suite := range []uint16{0x0004 /* RC4_128_MD5 */, 0x0005 /* RC4_128_SHA */, 0x0002 /* NULL_SHA */, 0x003b /* NULL_SHA256 */} {
		c, err := newCipher12(tls.VersionTLS12, suite, master, cr, sr, false, false)
		if err != nil {
			t.Fatalf("%s: %v", CipherSuiteName(suite), err)
		}
		p, _ := suite12Params(suite)
		kb := prf12(tls.VersionTLS12, suite, master, "key expansion", append(bytes.Clone(sr), cr...), 2*(p.macLen+p.keyLen))
		macKey, key := kb[p.macLen:2*p.macLen], kb[2*p.macLen+p.keyLen:]
		var ks cipher.Stream
		if p.keyLen > 0 {
			ks, _ = rc4.NewCipher(key)
		}
		for seq, plain := range []string{"one", "", "three is damaged", "four"} {
			m := hmac.New(p.mac, macKey)
			var ad [13]byte
			m.Write(header12(&ad, uint64(seq), 23, tls.VersionTLS12, len(plain)))
			m.Write([]byte(plain))
			body := m.Sum([]byte(plain))
			if ks != nil {
				ks.XORKeyStream(body, body)
			}
			if seq == 2 {
				body[0] ^= 1
			}
			_, got, err := c.Open(23, tls.VersionTLS12, body, uint64(seq))
			if seq == 2 {
				if !errors.Is(err, errBadRecordMAC12) {
					t.Errorf("%s: damaged: %v", CipherSuiteName(suite), err)
				}
				continue
			}
			if err != nil || string(got) != plain {
				t.Errorf("%s record %d: %q %v", CipherSuiteName(suite), seq, got, err)
			}
		}
	}
}

// c12FuzzSuites are the ciphers FuzzCipher12Open picks from.
var c12FuzzSuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256, 0xc028 /* AES_256_CBC_SHA384 */, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	tls.TLS_RSA_WITH_RC4_128_SHA, 0x0004 /* RC4_128_MD5 */, 0x0002 /* NULL_SHA */, 0xc0a0, /* CCM_8: unsupported until merge */
}

func FuzzCipher12Open(f *testing.F) {
	master := bytes.Repeat([]byte{0x4d}, 48)
	cr, sr := bytes.Repeat([]byte{0xc1}, 32), bytes.Repeat([]byte{0x5e}, 32)
	for i, etm := range []bool{false, true} {
		for v := uint8(0); v < 3; v++ {
			version := tls.VersionTLS10 + uint16(v)
			s := c12NewSealer(f, version, tls.TLS_RSA_WITH_AES_128_CBC_SHA, master, cr, sr, true, etm)
			f.Add(uint8(3), v, etm, uint8(23), s.seal(0, 23, version, []byte("seed record"), i), uint64(0))
		}
	}
	for i := range c12FuzzSuites {
		f.Add(uint8(i), uint8(2), false, uint8(22), make([]byte, 40), uint64(1))
		f.Add(uint8(i), uint8(0), true, uint8(23), []byte{}, uint64(1<<63))
	}
	f.Fuzz(func(t *testing.T, sel, v uint8, etm bool, typ uint8, body []byte, seq uint64) {
		suite := c12FuzzSuites[int(sel)%len(c12FuzzSuites)]
		version := tls.VersionTLS10 + uint16(v%3)
		c, err := newCipher12(version, suite, master, cr, sr, sel&0x80 == 0, etm)
		if err != nil {
			if !errors.Is(err, errUnsupportedCipher12) {
				t.Fatal(err)
			}
			return
		}
		saved := bytes.Clone(body)
		for i := range 2 { // twice: the stateful ciphers move on
			inner, plain, err := c.Open(typ, version, body, seq+uint64(i))
			if !bytes.Equal(body, saved) {
				t.Fatal("Open modified the body")
			}
			if err == nil && (inner != typ || len(plain) > len(body)) {
				t.Fatalf("inner %d, %d plaintext bytes from %d", inner, len(plain), len(body))
			}
			if err != nil && !errors.Is(err, errBadRecordMAC12) && !errors.Is(err, errMalformedRecord12) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// c12ServerExtension reports whether the ServerHello carries extension
// ext.
func c12ServerExtension(transcript []byte, ext uint16) bool {
	for len(transcript) >= 4 {
		n := int(transcript[1])<<16 | int(transcript[2])<<8 | int(transcript[3])
		if len(transcript) < 4+n {
			return false
		}
		if transcript[0] == typeServerHello {
			b := transcript[4 : 4+n]
			if len(b) < 35 || len(b) < 35+int(b[34])+3 {
				return false
			}
			b = b[35+int(b[34])+3:] // session id, cipher suite, compression
			if len(b) < 2 {
				return false
			}
			b = b[2:]
			for len(b) >= 4 {
				typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
				if typ == ext {
					return true
				}
				if len(b) < 4+l {
					return false
				}
				b = b[4+l:]
			}
			return false
		}
		transcript = transcript[4+n:]
	}
	return false
}

// OpenSSL's s_client and s_server through a recording proxy: a real
// stack that speaks encrypt_then_mac (on by default for CBC suites),
// CBC with SHA-384, and DHE. Skipped without an openssl binary.
func TestCipher12OpenSSL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl")
	}
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl:", err)
	}
	dir := t.TempDir()
	cert := c12Cert(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	for _, tc := range []struct {
		version    string
		cipher     string
		suite      uint16
		noETM      bool
		wantETM    bool
		tlsVersion uint16
	}{
		{"-tls1_2", "ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false, true, tls.VersionTLS12},
		{"-tls1_2", "ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true, false, tls.VersionTLS12},
		{"-tls1_2", "ECDHE-RSA-AES256-SHA384", 0xc028, false, true, tls.VersionTLS12},
		{"-tls1_2", "AES256-SHA256", 0x003d, false, true, tls.VersionTLS12},
		{"-tls1_2", "DHE-RSA-AES256-GCM-SHA384", 0x009f, false, false, tls.VersionTLS12},
		{"-tls1_2", "DHE-RSA-CHACHA20-POLY1305", 0xccaa, false, false, tls.VersionTLS12},
		{"-tls1_1", "ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false, true, tls.VersionTLS11},
		{"-tls1", "ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false, true, tls.VersionTLS10},
		{"-tls1", "AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, true, false, tls.VersionTLS10},
		// CCM runs once ccmFactory is wired (ccm.go).
		{"-tls1_2", "AES128-CCM", 0xc09c, false, false, tls.VersionTLS12},
		{"-tls1_2", "AES128-CCM8", 0xc0a0, false, false, tls.VersionTLS12},
		{"-tls1_2", "DHE-RSA-AES256-CCM", 0xc09f, false, false, tls.VersionTLS12},
		{"-tls1_2", "DHE-RSA-AES256-CCM8", 0xc0a3, false, false, tls.VersionTLS12},
	} {
		name := tc.version + "/" + tc.cipher
		if tc.noETM {
			name += "/no_etm"
		}
		t.Run(name, func(t *testing.T) {
			if strings.Contains(tc.cipher, "CCM") && ccmFactory == nil {
				t.Skip("ccmFactory not wired")
			}
			sess := c12OpenSSLRun(t, bin, certFile, keyFile, dir, tc.version, tc.cipher+":@SECLEVEL=0", tc.noETM)
			sess.state = tls.ConnectionState{Version: tc.tlsVersion, CipherSuite: tc.suite}
			tr := c12Transcript(t, sess)
			if got := c12ServerExtension(tr, 22); got != tc.wantETM {
				t.Fatalf("encrypt_then_mac negotiated: %v, want %v", got, tc.wantETM)
			}
			c12Open(t, sess)
		})
	}
}

func c12OpenSSLRun(t *testing.T, bin, certFile, keyFile, dir, version, ciphers string, noETM bool) c12Session {
	// A free port for s_server, and the recording proxy in front of it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv := exec.Command(bin, "s_server", "-accept", "127.0.0.1:"+strconv.Itoa(port), "-cert", certFile, "-key", keyFile,
		version, "-cipher", ciphers, "-naccept", "1", "-rev", "-quiet")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	var upstream net.Conn
	for i := 0; i < 100; i++ {
		if upstream, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal("s_server does not listen:", err)
	}
	defer upstream.Close()
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var mu sync.Mutex
	var chunks []chunk
	copyAndLog := func(dst, src net.Conn, from Side, done chan<- struct{}) {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				mu.Lock()
				chunks = append(chunks, chunk{from, bytes.Clone(buf[:n])})
				mu.Unlock()
				dst.Write(buf[:n])
			}
			if err != nil {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				return
			}
		}
	}
	up, down := make(chan struct{}), make(chan struct{})
	go func() {
		c, err := proxy.Accept()
		if err != nil {
			close(up)
			close(down)
			return
		}
		defer c.Close()
		go copyAndLog(upstream, c, Client, up)
		copyAndLog(c, upstream, Server, down)
		<-up
	}()
	keylog := filepath.Join(dir, "keylog-"+strconv.Itoa(port))
	args := []string{"s_client", "-connect", proxy.Addr().String(), version, "-cipher", ciphers, "-keylogfile", keylog, "-quiet"}
	if noETM {
		args = append(args, "-no_etm")
	}
	cli := exec.Command(bin, args...)
	stdin, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cli.Stdout, cli.Stderr = io.Discard, io.Discard
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	sent := []byte("hello from s_client\n")
	stdin.Write(sent)
	// Wait for the server's reversed line, then let the client go.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		var fromServer int
		for _, ch := range chunks {
			if ch.from == Server {
				fromServer++
			}
		}
		mu.Unlock()
		if fromServer >= 3 {
			time.Sleep(100 * time.Millisecond)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stdin.Close()
	cli.Process.Kill()
	cli.Wait()
	upstream.Close()
	<-down
	mu.Lock()
	sess := c12Session{chunks: chunks, sent: sent, received: []byte("tneilc_s morf olleh\n"), loose: true}
	mu.Unlock()
	log, err := os.ReadFile(keylog)
	if err != nil {
		t.Fatal(err)
	}
	sess.clientRandom, sess.master = c12KeyLog(t, string(log))
	return sess
}
