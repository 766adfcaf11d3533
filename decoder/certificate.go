package decoder

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Certificate is what an analyst needs from one certificate of a chain.
// A certificate that crypto/x509 cannot parse keeps its size, hash and the
// parse error: it is data, not a reason to drop the handshake.
type Certificate struct {
	Length             int
	SHA256             string // hex of the SHA-256 of the DER
	Subject            string
	Issuer             string
	CommonName         string
	Serial             string // hex, as printed by openssl and Wireshark
	NotBefore          time.Time
	NotAfter           time.Time
	DNSNames           []string
	IPAddresses        []string
	PublicKey          string // "RSA 2048", "ECDSA P-256", "Ed25519"
	PublicKeyAlgorithm string
	PublicKeyBits      int
	SignatureAlgorithm string
	IsCA               bool
	SelfSigned         bool
	// MustStaple: the TLS Feature extension asks for status_request
	// (RFC 7633): its server must staple an OCSP response.
	MustStaple bool
	Error      string
}

// certCache keeps the summaries of recently seen certificates: a server
// sends the same chain on every connection, and parsing it (with a
// signature check for self-signed ones) costs more than the rest of the
// handshake. Summaries are never modified once made, so they are shared.
var certCache = struct {
	sync.Mutex
	m     map[[32]byte]*Certificate
	order [][32]byte
}{m: map[[32]byte]*Certificate{}}

const certCacheSize = 4096

// ParseCertificate summarises one DER certificate. The result is shared
// between callers and must not be modified.
func ParseCertificate(der []byte) *Certificate {
	sum := sha256.Sum256(der)
	certCache.Lock()
	c, ok := certCache.m[sum]
	certCache.Unlock()
	if ok {
		return c
	}
	c = parseCertificate(der, sum)
	certCache.Lock()
	if _, ok := certCache.m[sum]; !ok {
		if len(certCache.order) >= certCacheSize {
			delete(certCache.m, certCache.order[0])
			certCache.order = certCache.order[1:]
		}
		certCache.m[sum] = c
		certCache.order = append(certCache.order, sum)
	}
	certCache.Unlock()
	return c
}

func parseCertificate(der []byte, sum [32]byte) *Certificate {
	c := &Certificate{Length: len(der), SHA256: hex.EncodeToString(sum[:])}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		c.Error = err.Error()
		if lenientTBS(der, c) {
			c.Error += " (names, serial and validity read without its checks)"
		}
		return c
	}
	c.Subject, c.Issuer = subjectAndIssuer(x.RawSubject, x.RawIssuer)
	c.CommonName = x.Subject.CommonName
	if x.SerialNumber != nil {
		// Whole bytes of hex, as Zeek, Suricata and OpenSSL print it.
		c.Serial = hex.EncodeToString(x.SerialNumber.Bytes())
		if x.SerialNumber.Sign() < 0 {
			c.Serial = "-" + hex.EncodeToString(new(big.Int).Abs(x.SerialNumber).Bytes())
		}
		if c.Serial == "" {
			c.Serial = "00"
		}
	}
	c.NotBefore, c.NotAfter = x.NotBefore.UTC(), x.NotAfter.UTC()
	c.DNSNames = x.DNSNames
	for _, ip := range x.IPAddresses {
		c.IPAddresses = append(c.IPAddresses, ip.String())
	}
	c.PublicKeyAlgorithm = x.PublicKeyAlgorithm.String()
	switch k := x.PublicKey.(type) {
	case *rsa.PublicKey:
		c.PublicKeyBits = k.N.BitLen()
		c.PublicKey = fmt.Sprintf("RSA %d", c.PublicKeyBits)
	case *ecdsa.PublicKey:
		c.PublicKeyBits = k.Curve.Params().BitSize
		c.PublicKey = "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		c.PublicKeyBits = 256
		c.PublicKey = "Ed25519"
	default:
		c.PublicKey = c.PublicKeyAlgorithm
	}
	c.SignatureAlgorithm = x.SignatureAlgorithm.String()
	c.IsCA = x.IsCA
	c.MustStaple = mustStaple(x)
	// Self-signed: issued by its own subject and signed by its own key.
	// (CheckSignatureFrom would also demand that the "parent" be a CA.)
	c.SelfSigned = bytes.Equal(x.RawSubject, x.RawIssuer) && x.CheckSignature(x.SignatureAlgorithm, x.RawTBSCertificate, x.Signature) == nil
	return c
}

// ValidAt reports whether t lies within the validity period.
func (c *Certificate) ValidAt(t time.Time) bool {
	return c.Error == "" && !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// Covers reports whether the certificate names host, with the wildcard
// rules of RFC 6125 §6.4.3 as crypto/x509 applies them.
func (c *Certificate) Covers(host string) bool {
	if c.Error != "" {
		return false
	}
	x := &x509.Certificate{DNSNames: c.DNSNames}
	if err := x.VerifyHostname(host); err == nil {
		return true
	}
	for _, ip := range c.IPAddresses {
		if ip == host {
			return true
		}
	}
	return false
}
