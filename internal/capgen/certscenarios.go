package capgen

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"time"
)

// Certificate problems (issue #25): servers whose chains a client
// refuses, each for one cause, under capgen's root (testdata/capgen-ca.pem).
// The certificates are made when the first server needs them, not
// before: the captures draw on one random stream, and these come last.

// certLab makes the problem chains once, on first use.
type certLab struct {
	p    *pki
	once sync.Once
	m    map[string]tls.Certificate
}

// Kinds of chain the lab serves.
const (
	chainFull            = "full"           // leaf and intermediate, under capgen's root
	chainLeafOnly        = "leaf-only"      // the same leaf without its intermediate
	chainUntrustedRoot   = "untrusted-root" // a complete chain to a root no store holds
	chainExpiredInter    = "expired-inter"  // the intermediate had expired
	chainWrongUsage      = "wrong-usage"    // a leaf for clientAuth only
	chainWrongName       = "wrong-name"     // a leaf for another name
	chainSelfSigned      = "self-signed"    // a self-signed leaf
	chainNotYetValid     = "not-yet-valid"  // a leaf valid from tomorrow
	chainExpiresSoon     = "expires-soon"   // a leaf that expires in 10 days
	chainBadSignature    = "bad-signature"  // a leaf signed by another key in its issuer's name
	certScenarioName     = "cert.example"   // the name the clients ask for
	certIssuingCAName    = "tlsscope Issuing CA"
	certIssuingCAAIA     = "http://ca.tlsscope.test/issuing.crt"
	certUntrustedRootCN  = "Untrusted Root"
	certExpiredIssuingCA = "tlsscope Expired Issuing CA"
)

func (l *certLab) make() {
	p := l.p
	l.m = map[string]tls.Certificate{}
	y25, y35 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := func(cn string, serial int64, from, to time.Time, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
		key := mustECKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"tlsscope test"}},
			NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			panic(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, key
	}
	leafOf := func(serial int64, cn string, from, to time.Time, eku x509.ExtKeyUsage, issuer *x509.Certificate, issuerKey crypto.Signer) ([]byte, crypto.Signer) {
		key := mustECKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"tlsscope test"}},
			NotBefore: from, NotAfter: to, DNSNames: []string{cn}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{eku}, IssuingCertificateURL: []string{certIssuingCAAIA}}
		if issuer == nil {
			issuer, issuerKey = tmpl, key
			tmpl.IssuingCertificateURL = nil
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), issuerKey)
		if err != nil {
			panic(err)
		}
		return der, key
	}
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	serverAuth := x509.ExtKeyUsageServerAuth
	inter, interKey := ca(certIssuingCAName, 0x3001, y25, y35, p.ca, p.caKey)
	put := func(kind string, key crypto.Signer, chain ...[]byte) {
		l.m[kind] = tls.Certificate{Certificate: chain, PrivateKey: key}
	}
	leaf, key := leafOf(0x3101, certScenarioName, from, to, serverAuth, inter, interKey)
	put(chainFull, key, leaf, inter.Raw)
	put(chainLeafOnly, key, leaf)
	root, rootKey := ca(certUntrustedRootCN, 0x3002, y25, y35, nil, nil)
	otherInter, otherKey := ca("Untrusted Issuing CA", 0x3003, y25, y35, root, rootKey)
	leaf, key = leafOf(0x3102, certScenarioName, from, to, serverAuth, otherInter, otherKey)
	put(chainUntrustedRoot, key, leaf, otherInter.Raw, root.Raw)
	expired, expiredKey := ca(certExpiredIssuingCA, 0x3004, y25, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), p.ca, p.caKey)
	leaf, key = leafOf(0x3103, certScenarioName, from, to, serverAuth, expired, expiredKey)
	put(chainExpiredInter, key, leaf, expired.Raw)
	leaf, key = leafOf(0x3104, certScenarioName, from, to, x509.ExtKeyUsageClientAuth, inter, interKey)
	put(chainWrongUsage, key, leaf, inter.Raw)
	leaf, key = leafOf(0x3105, "other.example", from, to, serverAuth, inter, interKey)
	put(chainWrongName, key, leaf, inter.Raw)
	leaf, key = leafOf(0x3106, certScenarioName, from, to, serverAuth, nil, nil)
	put(chainSelfSigned, key, leaf)
	leaf, key = leafOf(0x3107, certScenarioName, Base.Add(24*time.Hour), to, serverAuth, inter, interKey)
	put(chainNotYetValid, key, leaf, inter.Raw)
	leaf, key = leafOf(0x3108, certScenarioName, from, Base.Add(10*24*time.Hour), serverAuth, inter, interKey)
	put(chainExpiresSoon, key, leaf, inter.Raw)
	impostor, impostorKey := ca(certIssuingCAName, 0x3005, y25, y35, p.ca, p.caKey)
	leaf, key = leafOf(0x3109, certScenarioName, from, to, serverAuth, impostor, impostorKey)
	put(chainBadSignature, key, leaf, inter.Raw)
}

// server is a TLS 1.2 server sending the chain of kind.
func (l *certLab) server(kind string) func(net.Conn) {
	cfg := &tls.Config{Time: fixedTime, MaxVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			l.once.Do(l.make)
			c := l.m[kind]
			return &c, nil
		}}
	return server(cfg)
}

// closeOnCertificate is a client that closes the connection, without an
// alert, as soon as it has the server's Certificate (as Node's does).
func closeOnCertificate(cfg *tls.Config) func(net.Conn) {
	return func(c net.Conn) {
		cfg := cfg.Clone()
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error {
			c.Close() // before crypto/tls can send its alert
			return errors.New("refused")
		}
		tls.Client(c, cfg).Handshake()
		c.Close()
	}
}

// certScenarios: one capture, a connection per chain problem, then one
// whose server sends its leaf alone after another sent the intermediate.
func certScenarios(p *pki) []*Scenario {
	l := &certLab{p: p}
	cl := with(clientConfig(p, certScenarioName), tls12)
	refused, done := "1,2,11,12,14,alert:42", "1,2,11,12,14,16"
	var conns []connSpec
	expect := map[int]string{}
	for i, c := range []struct {
		kind   string
		client func(net.Conn)
		expect string
	}{
		{chainFull, client(cl, false), done},
		{chainLeafOnly, client(cl, false), refused},
		{chainUntrustedRoot, client(cl, false), refused},
		{chainExpiredInter, client(cl, false), refused},
		{chainWrongUsage, client(cl, false), refused},
		{chainWrongName, client(cl, false), refused},
		{chainSelfSigned, client(cl, false), refused},
		{chainNotYetValid, client(cl, false), refused},
		{chainExpiresSoon, client(cl, false), done},
		{chainBadSignature, client(cl, false), refused},
		{chainUntrustedRoot, closeOnCertificate(cl), "1,2,11,12,14"},
	} {
		conns = append(conns, connSpec{client: c.client, server: l.server(c.kind), start: time.Duration(i) * time.Second})
		expect[i] = c.expect
	}
	return []*Scenario{{Name: "cert-problems.pcap", Doc: "TLS 1.2 to servers under capgen's root, one chain problem each (issue #25): a full chain; the leaf without its intermediate (sent by the first); a chain to an untrusted root; an expired intermediate; a clientAuth-only leaf; a leaf for another name; a self-signed leaf; a leaf not yet valid; a leaf expiring in 10 days (accepted); a forged signature; the Go client alerts bad_certificate to each refused one; last, a client that closes without an alert on the untrusted chain",
		Links: []Link{LinkEthernet}, conns: conns, Expect: expect}}
}
