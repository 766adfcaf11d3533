package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Certificates made once per run. Names, serials and validity are fixed
// (the keys cannot be: Go draws them from the system's randomness).
//
// small: an ECDSA P-256 leaf for shop.test under an ECDSA CA, so that an
// ordinary server flight fits two segments and captures stay small.
// big: a chain of three RSA-4096 certificates (leaf, intermediate, root)
// (and a few padding SANs), so that the server flight is four segments:
// OpenSSL writes it as 4096 bytes (1448 + 1448 + 1200) and then the rest,
// about 500 bytes. The MTU scenarios need the full-size ones, and the
// blackhole one a tail short enough to pass an MTU of 1000.
// rsa: an RSA-2048 leaf for shop.test under the same ECDSA CA, for the
// TLS 1.2 ECDHE-RSA cipher suites of the key log scenarios (issue #15).
// client: an ECDSA P-256 client certificate (clientAuth) under that CA,
// for mutual TLS; the CA itself is small.CAs.
type certSet struct {
	Chain string // PEM: the leaf first, then the CAs the server sends
	Key   string // PEM PKCS#8 of the leaf
	Leaf  string // PEM: the leaf alone
	CAs   string // PEM: the CAs the server sends after the leaf
}

var (
	notBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
)

func makeCerts(dir string) (small, big, rsaSet, clientSet certSet, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return
	}
	ca, err := issue(1, "tlsscope netlab CA", nil, caKey, nil, nil, true)
	if err != nil {
		return
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return
	}
	leaf, err := issue(2, serverName, []string{serverName}, leafKey, ca, caKey, false)
	if err != nil {
		return
	}
	if small, err = writeSet(dir, "small", leafKey, leaf, ca); err != nil {
		return
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return
	}
	rsaLeaf, err := issue(3, serverName, []string{serverName}, rsaKey, ca, caKey, false)
	if err != nil {
		return
	}
	if rsaSet, err = writeSet(dir, "rsa", rsaKey, rsaLeaf, ca); err != nil {
		return
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return
	}
	clientLeaf, err := issue(4, "netlab client", nil, clientKey, ca, caKey, false, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return
	}
	if clientSet, err = writeSet(dir, "client", clientKey, clientLeaf, ca); err != nil {
		return
	}

	var keys [3]*rsa.PrivateKey
	for i := range keys {
		if keys[i], err = rsa.GenerateKey(rand.Reader, 4096); err != nil {
			return
		}
	}
	root, err := issue(10, "tlsscope netlab big root", nil, keys[0], nil, nil, true)
	if err != nil {
		return
	}
	mid, err := issue(11, "tlsscope netlab big intermediate", nil, keys[1], root, keys[0], true)
	if err != nil {
		return
	}
	names := []string{serverName}
	for i := 0; i < 4; i++ {
		names = append(names, fmt.Sprintf("padding-name-%02d.%s", i, serverName))
	}
	bigLeaf, err := issue(12, serverName, names, keys[2], mid, keys[1], false)
	if err != nil {
		return
	}
	big, err = writeSet(dir, "big", keys[2], bigLeaf, mid, root)
	return
}

// issue signs a certificate with parent's key, or self-signs when parent
// is nil. A leaf is for serverAuth unless eku says otherwise.
func issue(serial int64, cn string, dns []string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, isCA bool, eku ...x509.ExtKeyUsage) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tlsscope netlab"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              dns,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		if len(eku) > 0 {
			tmpl.ExtKeyUsage = eku
		}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func writeSet(dir, name string, key crypto.Signer, leaf *x509.Certificate, cas ...*x509.Certificate) (certSet, error) {
	s := certSet{
		Chain: filepath.Join(dir, name+"-chain.pem"),
		Key:   filepath.Join(dir, name+"-key.pem"),
		Leaf:  filepath.Join(dir, name+"-leaf.pem"),
		CAs:   filepath.Join(dir, name+"-cas.pem"),
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return s, err
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	var casPEM []byte
	for _, c := range cas {
		casPEM = append(casPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	chain := append(append([]byte{}, leafPEM...), casPEM...)
	for file, b := range map[string][]byte{
		s.Key:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		s.Leaf:  leafPEM,
		s.Chain: chain,
		s.CAs:   casPEM,
	} {
		if err := os.WriteFile(file, b, 0o600); err != nil {
			return s, err
		}
	}
	return s, nil
}
