package decoder

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
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
	// SCTs counts the Signed Certificate Timestamps embedded in the
	// certificate (RFC 6962 §3.3), not verified.
	SCTs int
	// IssuerURLs are the Authority Information Access caIssuers URLs
	// (RFC 5280 §4.2.2.1): where the issuer's certificate may be fetched.
	IssuerURLs []string

	// x is the parsed certificate, for chain validation (validate.go).
	x *x509.Certificate
}

// certCache keeps the summaries of recently seen certificates: a server
// sends the same chain on every connection, and parsing it (with a
// signature check for self-signed ones) costs more than the rest of the
// handshake. Summaries are never modified once made, so they are shared.
var certCache = newFIFOCache[[32]byte, *Certificate](4096)

// ParseCertificate summarises one DER certificate. The result is shared
// between callers and must not be modified.
func ParseCertificate(der []byte) *Certificate {
	sum := sha256.Sum256(der)
	if c, ok := certCache.get(sum); ok {
		return c
	}
	c := parseCertificate(der, sum)
	certCache.add(sum, c)
	return c
}

func parseCertificate(der []byte, sum [32]byte) *Certificate {
	c := &Certificate{Length: len(der), SHA256: hex.EncodeToString(sum[:])}
	// The parsed certificate is kept for validation: its bytes must be
	// its own, not the decoder's buffer.
	x, err := x509.ParseCertificate(bytes.Clone(der))
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
	c.IssuerURLs = x.IssuingCertificateURL
	for _, e := range x.Extensions {
		if e.Id.Equal(oidSCTList) {
			c.SCTs = countSCTs(e.Value, true)
		}
	}
	c.x = x
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

// oidSCTList is the X.509v3 extension of embedded SCTs (RFC 6962 §3.3).
var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// countSCTs counts the entries of a SignedCertificateTimestampList
// (RFC 6962 §3.3): a 2-byte length, then entries each with a 2-byte
// length. In a certificate the list is wrapped in an OCTET STRING
// (wrapped); in the TLS extension it is bare. A malformed list counts
// what could be read.
func countSCTs(b []byte, wrapped bool) int {
	if wrapped {
		// DER OCTET STRING: tag 4, a short or long length.
		if len(b) < 2 || b[0] != 4 {
			return 0
		}
		n, hl := int(b[1]), 2
		if n&0x80 != 0 {
			k := n & 0x7f
			if k == 0 || k > 3 || len(b) < 2+k {
				return 0
			}
			n = 0
			for _, x := range b[2 : 2+k] {
				n = n<<8 | int(x)
			}
			hl = 2 + k
		}
		if len(b) < hl+n {
			return 0
		}
		b = b[hl : hl+n]
	}
	if len(b) < 2 {
		return 0
	}
	total := int(b[0])<<8 | int(b[1])
	b = b[2:]
	if total < len(b) {
		b = b[:total]
	}
	count := 0
	for len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		if n == 0 || len(b) < 2+n {
			break
		}
		b = b[2+n:]
		count++
	}
	return count
}

// DER is the certificate as sent (nil when it did not parse).
func (c *Certificate) DER() []byte {
	if c.x == nil {
		return nil
	}
	return c.x.Raw
}
