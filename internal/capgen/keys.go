package capgen

// The captures of issue #15, decryption with key logs: each comes with the
// NSS key log its clients wrote (crypto/tls Config.KeyLogWriter), in
// testdata/NAME.keys beside NAME.pcap, and ExpectKeys says what tshark
// sees with it. Randomness is fixed, so the logs are the same bytes on
// every run. keys-tls13-dsb.pcapng carries its log inside, in a pcapng
// Decryption Secrets Block.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"
	_ "unsafe" // go:linkname
)

// keyLog is the key log of a scenario's clients, and what to do with it.
type keyLog struct {
	buf bytes.Buffer // what the clients' KeyLogWriter wrote in the last Build
	// wrong flips every bit of every secret in NAME.keys: a log for the
	// capture's client randoms whose keys are those of no connection.
	wrong bool
	// other also writes NAME.other.keys, the log with every bit of every
	// client random flipped: real secrets, for none of the capture's
	// connections.
	other bool
	// embed writes the log into the pcapng file as a Decryption Secrets
	// Block instead of NAME.keys.
	embed bool
	// of, when set, is the scenario whose packets and key log this one
	// writes: the same connections in another file.
	of   *Scenario
	pkts []Packet // the packets of the last Build
}

func (k *keyLog) Write(p []byte) (int, error) { return k.buf.Write(p) }

// logKeys makes a client configuration write its key log to k.
func logKeys(k *keyLog, cfg *tls.Config) *tls.Config {
	return with(cfg, func(c *tls.Config) { c.KeyLogWriter = k })
}

// packets builds the scenario, or takes the packets of the one whose
// connections it writes again; a key log starts empty with each Build.
func (s *Scenario) packets() ([]Packet, error) {
	k := s.keys
	switch {
	case k == nil:
		return s.Build()
	case k.of != nil:
		if k.of.keys.pkts == nil {
			if _, err := k.of.packets(); err != nil {
				return nil, err
			}
		}
		return k.of.keys.pkts, nil
	}
	k.buf.Reset()
	pkts, err := s.Build()
	k.pkts = pkts
	return pkts, err
}

// keyLogText is the key log as written to NAME.keys (wrong keys made wrong).
func (s *Scenario) keyLogText() []byte {
	k := s.keys
	if k.of != nil {
		return k.of.keyLogText()
	}
	if k.wrong {
		return flipKeyLog(k.buf.Bytes(), 2)
	}
	return bytes.Clone(k.buf.Bytes())
}

// secrets are the key logs to embed in a pcapng file.
func (s *Scenario) secrets() [][]byte {
	if s.keys == nil || !s.keys.embed {
		return nil
	}
	return [][]byte{s.keyLogText()}
}

// KeyFiles are the files written beside the capture after Write: its key
// logs, by file name.
func (s *Scenario) KeyFiles() map[string][]byte {
	if s.keys == nil || s.keys.embed {
		return nil
	}
	base := strings.TrimSuffix(s.Name, filepath.Ext(s.Name))
	files := map[string][]byte{base + ".keys": s.keyLogText()}
	if s.keys.other {
		files[base+".other.keys"] = flipKeyLog(s.keys.buf.Bytes(), 1)
	}
	return files
}

// flipKeyLog inverts every bit of field n (1 the client random, 2 the
// secret) on every line of an NSS key log ("LABEL random secret").
func flipKeyLog(log []byte, n int) []byte {
	var out []byte
	for _, line := range strings.SplitAfter(string(log), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			out = append(out, line...)
			continue
		}
		b, err := hex.DecodeString(f[n])
		if err != nil {
			panic("capgen: key log line " + line)
		}
		for i := range b {
			b[i] ^= 0xff
		}
		f[n] = hex.EncodeToString(b)
		out = append(out, strings.Join(f, " ")+"\n"...)
	}
	return out
}

// resumedLogged12 is client() for a TLS 1.2 connection that resumes the
// session of the key log's last CLIENT_RANDOM line. crypto/tls logs TLS 1.2
// secrets in full handshakes only; this adds the line OpenSSL writes for a
// resumed session: its master secret under the new client random.
func resumedLogged12(k *keyLog, cfg *tls.Config) func(net.Conn) {
	return func(c net.Conn) {
		resumed := false
		cfg := with(cfg, func(c *tls.Config) {
			c.VerifyConnection = func(cs tls.ConnectionState) error { resumed = cs.DidResume; return nil }
		})
		tap := &helloTap{Conn: c}
		client(cfg, false)(tap)
		if !resumed || tap.random == nil {
			return
		}
		var secret string
		for _, line := range strings.Split(k.buf.String(), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "CLIENT_RANDOM" {
				secret = f[2]
			}
		}
		if secret != "" {
			fmt.Fprintf(&k.buf, "CLIENT_RANDOM %x %s\n", tap.random, secret)
		}
	}
}

// helloTap keeps the client random of the ClientHello written through it.
type helloTap struct {
	net.Conn
	random []byte
}

func (t *helloTap) Write(p []byte) (int, error) {
	// A record of type handshake (22) holding a ClientHello (1): the
	// random follows the record header, the message header and the version.
	if t.random == nil && len(p) >= 43 && p[0] == 22 && p[5] == 1 {
		t.random = bytes.Clone(p[11:43])
	}
	return t.Conn.Write(p)
}

// writeDSB writes a pcapng Decryption Secrets Block (draft-ietf-opsawg-pcapng
// §4.7), little-endian like the rest of WritePcapng's file: block type 0x0A,
// total length, secrets type "TLSK" (an NSS key log), secrets length, the
// log padded to 32 bits, no options, total length again.
func writeDSB(w io.Writer, log []byte) error {
	pad := (4 - len(log)%4) % 4
	total := 20 + len(log) + pad
	b := make([]byte, 0, total)
	b = binary.LittleEndian.AppendUint32(b, 0x0000000a)
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	b = binary.LittleEndian.AppendUint32(b, 0x544c534b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(log)))
	b = append(b, log...)
	b = append(b, make([]byte, pad)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	_, err := w.Write(b)
	return err
}

// Go's crypto/tls chooses TLS 1.3 cipher suites itself (Config.CipherSuites
// does not apply): the client offers AES-128-GCM, AES-256-GCM, ChaCha20 (ChaCha20
// first without AES hardware) and the server takes the first of its own
// list that the client offered. Both lists are these variables, which
// crypto/tls keeps linkname-able for quic-go (go.dev/issue/67401).
//
//go:linkname tls13Suites crypto/tls.defaultCipherSuitesTLS13
var tls13Suites []uint16

//go:linkname tls13SuitesNoAES crypto/tls.defaultCipherSuitesTLS13NoAES
var tls13SuitesNoAES []uint16

// onlySuite13 runs a client with suite as the only TLS 1.3 cipher suite of
// crypto/tls, for the client and the server both: the client offers it
// alone. The two sides take turns (sim.go), so the server handshakes
// while the client func runs, and no other handshake runs meanwhile.
func onlySuite13(suite uint16, client func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		saved, savedNoAES := tls13Suites, tls13SuitesNoAES
		tls13Suites, tls13SuitesNoAES = []uint16{suite}, []uint16{suite}
		defer func() { tls13Suites, tls13SuitesNoAES = saved, savedNoAES }()
		client(c)
	}
}

// What tshark sees of a TLS 1.3 handshake with its keys (without them:
// 1,2), and of TLS 1.2 without and with: both Finished messages, then each
// side's close_notify.
const (
	tls13Keys  = "1,2,8,11,15,20,20,alert:0,alert:0"
	tls12Plain = "1,2,11,12,14,16"
	tls12Keys  = tls12Plain + ",20,20,alert:0,alert:0"
)

// keyScenarios are the captures with key logs. Nothing here draws
// randomness before Build: the captures before them stay the same.
func keyScenarios(p *pki) []*Scenario {
	eth := []Link{LinkEthernet}
	shopServer := serverConfig(p, p.shop)
	shopClient := clientConfig(p, "shop.example")
	rsaServer := serverConfig(p, p.rsa)
	rsaClient := clientConfig(p, "legacy.example")
	// suite12 is a TLS 1.2 client and server pair with one cipher suite.
	suite12 := func(k *keyLog, suite uint16) connSpec {
		only := func(c *tls.Config) { tls12(c); c.CipherSuites = []uint16{suite} }
		return connSpec{client: client(logKeys(k, with(rsaClient, only)), false), server: server(with(rsaServer, only))}
	}
	std := func(k *keyLog, cl, sv *tls.Config) connSpec {
		return connSpec{client: client(logKeys(k, cl), false), server: server(sv)}
	}
	// One key log per capture, named by the capture.
	var (
		aes128Keys                                                           = &keyLog{other: true}
		aes256Keys, chachaKeys, hrrKeys, mtlsKeys, rejectKeys, tickets13Keys = &keyLog{}, &keyLog{}, &keyLog{}, &keyLog{}, &keyLog{}, &keyLog{}
		wrongKeys                                                            = &keyLog{wrong: true}
		gcmKeys, aes256gcmKeys, chacha12Keys, cbcKeys, cbc256Keys            = &keyLog{}, &keyLog{}, &keyLog{}, &keyLog{}, &keyLog{}
		rsaKeys, alertKeys, tickets12Keys                                    = &keyLog{}, &keyLog{}, &keyLog{}
	)
	cache13 := tls.NewLRUClientSessionCache(4)
	tickets13 := logKeys(tickets13Keys, with(shopClient, func(c *tls.Config) { c.ClientSessionCache = cache13 }))
	cache12 := tls.NewLRUClientSessionCache(4)
	tickets12 := logKeys(tickets12Keys, with(shopClient, func(c *tls.Config) { tls12(c); c.ClientSessionCache = cache12 }))
	tickets12Server := with(shopServer, tls12) // one configuration, one ticket key
	aes128 := &Scenario{Name: "keys-tls13-aes128.pcap", Doc: "TLS 1.3 (AES-128-GCM), one request and response, with its key log; keys-tls13-aes128.other.keys is a key log for none of its connections", Links: eth, keys: aes128Keys,
		conns:  []connSpec{std(aes128Keys, shopClient, shopServer)},
		Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: tls13Keys}}
	ss := []*Scenario{
		aes128,
		{Name: "keys-tls13-aes256.pcap", Doc: "TLS 1.3 with AES-256-GCM (the only TLS 1.3 suite of crypto/tls while it runs), with its key log", Links: eth, keys: aes256Keys,
			conns:  []connSpec{{client: onlySuite13(tls.TLS_AES_256_GCM_SHA384, client(logKeys(aes256Keys, shopClient), false)), server: server(shopServer)}},
			Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: tls13Keys}},
		{Name: "keys-tls13-chacha.pcap", Doc: "TLS 1.3 with ChaCha20-Poly1305 (the only TLS 1.3 suite of crypto/tls while it runs), with its key log", Links: eth, keys: chachaKeys,
			conns:  []connSpec{{client: onlySuite13(tls.TLS_CHACHA20_POLY1305_SHA256, client(logKeys(chachaKeys, shopClient), false)), server: server(shopServer)}},
			Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: tls13Keys}},
		{Name: "keys-tls13-hrr.pcap", Doc: "TLS 1.3 HelloRetryRequest (the server wants P-256), with its key log", Links: eth, keys: hrrKeys,
			conns: []connSpec{std(hrrKeys, with(shopClient, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256} }),
				with(shopServer, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }))},
			Expect: map[int]string{0: "1,2,1,2"}, ExpectKeys: map[int]string{0: "1,2,1,2,8,11,15,20,20,alert:0,alert:0"}},
		{Name: "keys-tls13-mtls.pcap", Doc: "TLS 1.3: the server requires a client certificate and gets one, with the key log", Links: eth, keys: mtlsKeys,
			conns: []connSpec{std(mtlsKeys, with(shopClient, func(c *tls.Config) { c.Certificates = []tls.Certificate{p.client} }),
				with(shopServer, func(c *tls.Config) { c.ClientAuth = tls.RequireAnyClientCert }))},
			Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: "1,2,8,13,11,15,20,11,15,20,alert:0,alert:0"}},
		{Name: "keys-tls13-client-rejects-cert.pcap", Doc: "TLS 1.3: the client does not trust the server's issuer and sends an encrypted bad_certificate alert, with the key log", Links: eth, keys: rejectKeys,
			conns:  []connSpec{std(rejectKeys, with(shopClient, func(c *tls.Config) { c.RootCAs = p.otherRoots }), shopServer)},
			Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: "1,2,8,11,15,20,alert:42"}},
		{Name: "keys-tls13-tickets.pcap", Doc: "TLS 1.3: the server sends a NewSessionTicket, a second connection resumes with the PSK; one key log for both", Links: eth, keys: tickets13Keys,
			conns: []connSpec{std(tickets13Keys, tickets13, shopServer),
				{client: client(tickets13, false), server: server(shopServer), start: time.Second}},
			Expect: map[int]string{0: "1,2", 1: "1,2"}, ExpectKeys: map[int]string{0: "1,2,8,11,15,20,4,20,alert:0,alert:0", 1: "1,2,8,20,4,20,alert:0,alert:0"}},
		{Name: "keys-tls13-wrong-keys.pcap", Doc: "TLS 1.3; its key log has the connection's client random but every bit of every secret flipped: nothing decrypts", Links: eth, keys: wrongKeys,
			conns:  []connSpec{std(wrongKeys, shopClient, shopServer)},
			Expect: map[int]string{0: "1,2"}, ExpectKeys: map[int]string{0: "1,2"}},
		{Name: "keys-tls13-dsb.pcapng", Doc: "the connection of keys-tls13-aes128.pcap in pcapng, its key log in a Decryption Secrets Block", Links: eth, NG: true,
			keys:   &keyLog{embed: true, of: aes128},
			Expect: map[int]string{0: tls13Keys}, ExpectKeys: map[int]string{0: tls13Keys}},
		{Name: "keys-tls12-gcm.pcap", Doc: "TLS 1.2 ECDHE-RSA AES-128-GCM, with its key log", Links: eth, keys: gcmKeys,
			conns:  []connSpec{suite12(gcmKeys, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
		{Name: "keys-tls12-aes256gcm.pcap", Doc: "TLS 1.2 ECDHE-RSA AES-256-GCM, with its key log", Links: eth, keys: aes256gcmKeys,
			conns:  []connSpec{suite12(aes256gcmKeys, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
		{Name: "keys-tls12-chacha.pcap", Doc: "TLS 1.2 ECDHE-RSA ChaCha20-Poly1305, with its key log", Links: eth, keys: chacha12Keys,
			conns:  []connSpec{suite12(chacha12Keys, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
		{Name: "keys-tls12-cbc.pcap", Doc: "TLS 1.2 ECDHE-RSA AES-128-CBC-SHA, with its key log", Links: eth, keys: cbcKeys,
			conns:  []connSpec{suite12(cbcKeys, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
		{Name: "keys-tls12-cbc-sha256.pcap", Doc: "TLS 1.2 ECDHE-RSA AES-128-CBC-SHA256, with its key log", Links: eth, keys: cbc256Keys,
			conns:  []connSpec{suite12(cbc256Keys, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256)},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
		{Name: "keys-tls12-rsa.pcap", Doc: "TLS 1.2 RSA key exchange, AES-128-GCM, with its key log", Links: eth, keys: rsaKeys,
			conns:  []connSpec{suite12(rsaKeys, tls.TLS_RSA_WITH_AES_128_GCM_SHA256)},
			Expect: map[int]string{0: "1,2,11,14,16"}, ExpectKeys: map[int]string{0: "1,2,11,14,16,20,20,alert:0,alert:0"}},
		{Name: "keys-tls12-resume-ticket.pcap", Doc: "TLS 1.2 full handshake with a session ticket, then resumption by the ticket; one key log, a CLIENT_RANDOM line per connection (crypto/tls logs the full handshake only: the resumed one's line, the session's master secret, is added as OpenSSL writes it)", Links: eth, keys: tickets12Keys,
			conns: []connSpec{std(tickets12Keys, tickets12, tickets12Server),
				{client: resumedLogged12(tickets12Keys, tickets12), server: server(tickets12Server), start: time.Second}},
			Expect: map[int]string{0: "1,2,11,12,14,16,4", 1: "1,2,4"}, ExpectKeys: map[int]string{0: "1,2,11,12,14,16,20,4,20,alert:0,alert:0", 1: "1,2,4,20,20,alert:0,alert:0"}},
		{Name: "keys-tls12-alert.pcap", Doc: "TLS 1.2 with its key log: the encrypted alerts are the close_notify of each side at the end", Links: eth, keys: alertKeys,
			conns:  []connSpec{std(alertKeys, with(shopClient, tls12), with(shopServer, tls12))},
			Expect: map[int]string{0: tls12Plain}, ExpectKeys: map[int]string{0: tls12Keys}},
	}
	return ss
}
