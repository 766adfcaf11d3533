package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// certLab is the PKI of the certificate scenarios (issue #25): made at
// the start of a run with validity fixed relative to that moment, so that
// a certificate meant to be valid is valid at the capture's time and an
// expired one expired, whatever day the lab runs (tlsscope judges at the
// capture's time). Names and serials are fixed; keys are fresh (ECDSA
// P-256, so that captures stay small).
//
//	root "tlsscope certlab root" — intermediate "tlsscope certlab intermediate" — leaves
//	root — "tlsscope certlab expired intermediate" (expired 30 days ago) — leaf
//	"tlsscope certlab other root": what a client trusts instead of root
//	a self-signed leaf for shop.test, under no root
type certLab struct {
	Root, OtherRoot string // PEM files: the clients' -CAfile
	// Chains the servers send (Chain: leaf first, then CAs):
	Good          certSet // leaf, intermediate (AIA caIssuers and OCSP URLs)
	LeafOnly      certSet // the same leaf, no intermediate (CAs is "")
	FullChain     certSet // leaf, intermediate, root
	ExpiredIssuer certSet // a leaf under the expired intermediate, and it
	ClientAuth    certSet // a leaf for clientAuth only, and the intermediate
	OtherName     certSet // a leaf for other.test only, and the intermediate
	MustStaple    certSet // a leaf with the TLS Feature status_request (RFC 7633), and the intermediate
	NotYetValid   certSet // a leaf valid only from 30 days after now, and the intermediate
	BadSignature  certSet // a leaf whose signature does not verify with the intermediate's key, and the intermediate
	SelfSigned    certSet // a self-signed leaf for shop.test alone
	ExpiresSoon   certSet // a leaf that expires 10 days after now, and the intermediate
	// DER OCSP responses about Good's leaf, signed by the intermediate:
	// good and revoked by `openssl ocsp`, stale (nextUpdate 3 days ago)
	// by golang.org/x/crypto/ocsp, since openssl ocsp dates only ahead.
	OCSPGood, OCSPRevoked, OCSPStale string
	// IntermediateURL is the leaves' AIA caIssuers (never fetched: the
	// lab has no such host).
	IntermediateURL string
}

const (
	otherName       = "other.test"
	intermediateURL = "http://ca.shop.test/certlab-intermediate.crt"
	ocspURL         = "http://ocsp.shop.test/"
)

// oidTLSFeature is the TLS Feature extension (RFC 7633 §6); its value
// SEQUENCE { INTEGER 5 } asks for status_request (must-staple).
var (
	oidTLSFeature   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}
	mustStapleValue = []byte{0x30, 0x03, 0x02, 0x01, 0x05}
)

// certSpec is one certificate of the lab.
type certSpec struct {
	serial             int64
	cn                 string
	dns                []string
	from, until        time.Time
	isCA               bool
	eku                []x509.ExtKeyUsage
	aia                bool // caIssuers and OCSP URLs
	mustStaple         bool
	parent             *x509.Certificate
	parentKey, selfKey crypto.Signer
}

func (s certSpec) make() (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(s.serial),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"tlsscope netlab"}},
		NotBefore:             s.from,
		NotAfter:              s.until,
		DNSNames:              s.dns,
		BasicConstraintsValid: true,
		IsCA:                  s.isCA,
	}
	if s.isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = s.eku
	}
	if s.aia {
		tmpl.IssuingCertificateURL = []string{intermediateURL}
		tmpl.OCSPServer = []string{ocspURL}
	}
	if s.mustStaple {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidTLSFeature, Value: mustStapleValue}}
	}
	parent, parentKey := s.parent, s.parentKey
	if parent == nil {
		parent, parentKey = tmpl, s.selfKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.selfKey.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// makeCertLab makes the PKI in dir, dated relative to now.
func makeCertLab(dir string, now time.Time) (*certLab, error) {
	day := 24 * time.Hour
	now = now.UTC().Truncate(time.Second)
	keys := make([]*ecdsa.PrivateKey, 13)
	for i := range keys {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	rootKey, otherKey, interKey, expKey := keys[0], keys[1], keys[2], keys[3]
	root, err := certSpec{serial: 0x20, cn: "tlsscope certlab root", from: now.Add(-2 * 365 * day), until: now.Add(10 * 365 * day), isCA: true, selfKey: rootKey}.make()
	if err != nil {
		return nil, err
	}
	other, err := certSpec{serial: 0x2f, cn: "tlsscope certlab other root", from: now.Add(-2 * 365 * day), until: now.Add(10 * 365 * day), isCA: true, selfKey: otherKey}.make()
	if err != nil {
		return nil, err
	}
	inter, err := certSpec{serial: 0x21, cn: "tlsscope certlab intermediate", from: now.Add(-365 * day), until: now.Add(5 * 365 * day), isCA: true, parent: root, parentKey: rootKey, selfKey: interKey}.make()
	if err != nil {
		return nil, err
	}
	expired, err := certSpec{serial: 0x22, cn: "tlsscope certlab expired intermediate", from: now.Add(-395 * day), until: now.Add(-30 * day), isCA: true, parent: root, parentKey: rootKey, selfKey: expKey}.make()
	if err != nil {
		return nil, err
	}
	serverAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	leafSpec := func(serial int64, key crypto.Signer) certSpec {
		return certSpec{serial: serial, cn: serverName, dns: []string{serverName}, from: now.Add(-30 * day), until: now.Add(365 * day),
			eku: serverAuth, aia: true, parent: inter, parentKey: interKey, selfKey: key}
	}
	leaf, err := leafSpec(0x30, keys[4]).make()
	if err != nil {
		return nil, err
	}
	s := leafSpec(0x31, keys[5])
	// Valid from before its issuer expired, to a year from now.
	s.from, s.parent, s.parentKey = now.Add(-100*day), expired, expKey
	expLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	s = leafSpec(0x32, keys[6])
	s.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	s = leafSpec(0x33, keys[7])
	s.cn, s.dns = otherName, []string{otherName}
	otherLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	s = leafSpec(0x34, keys[8])
	s.mustStaple = true
	stapleLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	s = leafSpec(0x35, keys[9])
	s.from, s.until = now.Add(30*day), now.Add(395*day)
	futureLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	badLeaf, err := leafSpec(0x36, keys[10]).make()
	if err != nil {
		return nil, err
	}
	badLeaf = flipSignature(badLeaf)
	s = leafSpec(0x37, keys[11])
	s.aia, s.parent, s.parentKey = false, nil, nil
	selfLeaf, err := s.make()
	if err != nil {
		return nil, err
	}
	s = leafSpec(0x38, keys[12])
	s.until = now.Add(10 * day)
	soonLeaf, err := s.make()
	if err != nil {
		return nil, err
	}

	l := &certLab{Root: filepath.Join(dir, "certlab-root.pem"), OtherRoot: filepath.Join(dir, "certlab-other-root.pem"), IntermediateURL: intermediateURL}
	for file, c := range map[string]*x509.Certificate{l.Root: root, l.OtherRoot: other} {
		if err := os.WriteFile(file, pemCert(c), 0o600); err != nil {
			return nil, err
		}
	}
	for _, x := range []struct {
		set  *certSet
		name string
		key  crypto.Signer
		leaf *x509.Certificate
		cas  []*x509.Certificate
	}{
		{&l.Good, "certlab-good", keys[4], leaf, []*x509.Certificate{inter}},
		{&l.LeafOnly, "certlab-leaf-only", keys[4], leaf, nil},
		{&l.FullChain, "certlab-full-chain", keys[4], leaf, []*x509.Certificate{inter, root}},
		{&l.ExpiredIssuer, "certlab-expired-issuer", keys[5], expLeaf, []*x509.Certificate{expired}},
		{&l.ClientAuth, "certlab-client-auth", keys[6], clientLeaf, []*x509.Certificate{inter}},
		{&l.OtherName, "certlab-other-name", keys[7], otherLeaf, []*x509.Certificate{inter}},
		{&l.MustStaple, "certlab-must-staple", keys[8], stapleLeaf, []*x509.Certificate{inter}},
		{&l.NotYetValid, "certlab-not-yet-valid", keys[9], futureLeaf, []*x509.Certificate{inter}},
		{&l.BadSignature, "certlab-bad-signature", keys[10], badLeaf, []*x509.Certificate{inter}},
		{&l.SelfSigned, "certlab-self-signed", keys[11], selfLeaf, nil},
		{&l.ExpiresSoon, "certlab-expires-soon", keys[12], soonLeaf, []*x509.Certificate{inter}},
	} {
		if *x.set, err = writeSet(dir, x.name, x.key, x.leaf, x.cas...); err != nil {
			return nil, err
		}
	}
	l.LeafOnly.CAs, l.SelfSigned.CAs = "", ""

	// OCSP: a request for the leaf, answered by openssl ocsp from an
	// index (good: V; revoked: R, keyCompromise a day ago).
	interPEM := filepath.Join(dir, "certlab-intermediate.pem")
	interKeyPEM := filepath.Join(dir, "certlab-intermediate-key.pem")
	if err := os.WriteFile(interPEM, pemCert(inter), 0o600); err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(interKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(interKeyPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	req := filepath.Join(dir, "certlab-ocsp-req.der")
	if _, err := run("openssl", "ocsp", "-issuer", interPEM, "-cert", l.Good.Leaf, "-no_nonce", "-reqout", req); err != nil {
		return nil, err
	}
	asn1Time := func(t time.Time) string { return t.UTC().Format("060102150405Z") }
	line := func(status, revoked string) string {
		return fmt.Sprintf("%s\t%s\t%s\t%X\tunknown\t/O=tlsscope netlab/CN=%s\n", status, asn1Time(leaf.NotAfter), revoked, leaf.SerialNumber, serverName)
	}
	for _, x := range []struct {
		out, entry string
	}{
		{"certlab-ocsp-good.der", line("V", "")},
		{"certlab-ocsp-revoked.der", line("R", asn1Time(now.Add(-day))+",keyCompromise")},
	} {
		index := filepath.Join(dir, strings.TrimSuffix(x.out, ".der")+".index")
		if err := os.WriteFile(index, []byte(x.entry), 0o600); err != nil {
			return nil, err
		}
		if _, err := run("openssl", "ocsp", "-index", index, "-rsigner", interPEM, "-rkey", interKeyPEM, "-CA", interPEM,
			"-reqin", req, "-respout", filepath.Join(dir, x.out), "-ndays", "7"); err != nil {
			return nil, err
		}
	}
	l.OCSPGood, l.OCSPRevoked = filepath.Join(dir, "certlab-ocsp-good.der"), filepath.Join(dir, "certlab-ocsp-revoked.der")
	stale, err := ocsp.CreateResponse(inter, inter, ocsp.Response{
		Status: ocsp.Good, SerialNumber: leaf.SerialNumber,
		ThisUpdate: now.Add(-10 * day), NextUpdate: now.Add(-3 * day), ProducedAt: now.Add(-10 * day),
	}, interKey)
	if err != nil {
		return nil, err
	}
	l.OCSPStale = filepath.Join(dir, "certlab-ocsp-stale.der")
	if err := os.WriteFile(l.OCSPStale, stale, 0o600); err != nil {
		return nil, err
	}
	return l, nil
}

// flipSignature is c with the last byte of its signature value flipped:
// the DER still parses (the byte is the last of ECDSA's s, or of an RSA
// signature), and the signature no longer verifies with the issuer's key.
// A Certificate's encoding ends with its signatureValue (RFC 5280 §4.1).
func flipSignature(c *x509.Certificate) *x509.Certificate {
	x := *c
	x.Raw = bytes.Clone(c.Raw)
	x.Raw[len(x.Raw)-1] ^= 0x01
	return &x
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
