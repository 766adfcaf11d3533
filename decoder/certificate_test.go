package decoder

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestLenientCertificate: a certificate crypto/x509 rejects (here a NUL
// in a PrintableString, as in suricata-verify's tls-issuer-zero capture)
// keeps its hash, the error, and the fields read without the checks.
func TestLenientCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	nb := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234abcd), Subject: pkix.Name{CommonName: "ZZZZ.example", Organization: []string{"Org"}},
		NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	good := ParseCertificate(der)
	if good.Error != "" || good.Serial != "1234abcd" || good.CommonName != "ZZZZ.example" || good.PublicKey != "ECDSA P-256" || !good.SelfSigned {
		t.Fatalf("valid certificate: %+v", good)
	}
	bad := bytes.Replace(append([]byte(nil), der...), []byte("ZZZZ"), []byte("Z\x00ZZ"), -1)
	c := ParseCertificate(bad)
	if c.Error == "" || c.SHA256 == good.SHA256 || c.Length != len(der) {
		t.Fatalf("broken certificate: %+v", c)
	}
	if c.Serial != "1234abcd" || !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(nb.AddDate(1, 0, 0)) ||
		c.CommonName != "Z\x00ZZ.example" || c.Subject != "CN=Z\x00ZZ.example,O=Org" || c.Issuer != c.Subject {
		t.Errorf("lenient fields: serial %q, validity %v–%v, CN %q, subject %q, issuer %q", c.Serial, c.NotBefore, c.NotAfter, c.CommonName, c.Subject, c.Issuer)
	}
	// Garbage stays garbage: a hash, a length and an error.
	junk := ParseCertificate([]byte{0x30, 0x05, 0x30, 0x84, 0xff, 0xff, 0xff, 0, 0})
	if junk.Error == "" || junk.Serial != "" || junk.Length != 9 {
		t.Errorf("junk: %+v", junk)
	}
}
