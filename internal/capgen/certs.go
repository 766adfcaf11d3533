package capgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// Base is the capture clock's start: every scenario happens on 2 March 2026.
var Base = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// pki holds the certificates the scenarios use. Keys come from
// crypto/rand, which the caller makes deterministic.
type pki struct {
	ca, otherCA        *x509.Certificate
	caKey, otherKey    crypto.Signer
	shop, api, expired tls.Certificate
	rsa                tls.Certificate
	client             tls.Certificate
	roots, otherRoots  *x509.CertPool
}

func mustECKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func newCA(name string, serial int64) (*x509.Certificate, crypto.Signer) {
	key := mustECKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name, Organization: []string{"tlsscope test"}},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func leaf(ca *x509.Certificate, caKey crypto.Signer, key crypto.Signer, serial int64, cn string, names []string, from, to time.Time, client bool) tls.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"tlsscope test"}},
		NotBefore: from, NotAfter: to, DNSNames: names,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
}

func newPKI() *pki {
	p := &pki{}
	p.ca, p.caKey = newCA("tlsscope Test CA", 1)
	p.otherCA, p.otherKey = newCA("Some Other CA", 2)
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p.shop = leaf(p.ca, p.caKey, mustECKey(), 0x1001, "shop.example", []string{"shop.example", "www.shop.example"}, from, to, false)
	p.api = leaf(p.ca, p.caKey, mustECKey(), 0x1002, "api.example", []string{"api.example"}, from, to, false)
	p.expired = leaf(p.ca, p.caKey, mustECKey(), 0x1003, "shop.example", []string{"shop.example"},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), false)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.rsa = leaf(p.ca, p.caKey, rsaKey, 0x1004, "legacy.example", []string{"legacy.example"}, from, to, false)
	p.client = leaf(p.ca, p.caKey, mustECKey(), 0x2001, "client-42", nil, from, to, true)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.ca)
	p.otherRoots = x509.NewCertPool()
	p.otherRoots.AddCert(p.otherCA)
	return p
}
