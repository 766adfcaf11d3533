package decoder

import (
	encoding_asn1 "encoding/asn1"
	"encoding/hex"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Attribute types of X.520 names, as pkix.Name.String prints them.
// Short names of X.520 attribute types, as OpenSSL (and so Zeek and
// Suricata) print them.
var nameOIDs = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
	"2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title", "2.5.4.15": "businessCategory",
	"2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.46": "dnQualifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
	"1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
}

// lenientTBS reads the serial, validity, issuer and subject of a
// certificate that crypto/x509 rejected (explicit curve parameters, a NUL
// in a PrintableString, a truncated extension), without the checks that
// made it fail. Only the outer structure must hold (RFC 5280 §4.1).
func lenientTBS(der []byte, c *Certificate) bool {
	s := cryptobyte.String(der)
	var cert, tbs, serial, issuer, validity, subject cryptobyte.String
	if !s.ReadASN1(&cert, asn1.SEQUENCE) || !cert.ReadASN1(&tbs, asn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.ReadASN1(&serial, asn1.INTEGER) || !tbs.SkipASN1(asn1.SEQUENCE) ||
		!tbs.ReadASN1(&issuer, asn1.SEQUENCE) || !tbs.ReadASN1(&validity, asn1.SEQUENCE) ||
		!tbs.ReadASN1(&subject, asn1.SEQUENCE) {
		return false
	}
	nb, ok1 := readTime(&validity)
	na, ok2 := readTime(&validity)
	if !ok1 || !ok2 {
		return false
	}
	c.NotBefore, c.NotAfter = nb, na
	// The INTEGER's bytes without the sign byte DER adds, as for a parsed one.
	for len(serial) > 1 && serial[0] == 0 {
		serial = serial[1:]
	}
	c.Serial = hex.EncodeToString(serial)
	c.Issuer, _ = readName(issuer)
	c.Subject, c.CommonName = readName(subject)
	return true
}

func readTime(s *cryptobyte.String) (time.Time, bool) {
	var v cryptobyte.String
	var tag asn1.Tag
	if !s.ReadAnyASN1(&v, &tag) {
		return time.Time{}, false
	}
	layout := "20060102150405Z0700"
	switch tag {
	case asn1.UTCTime:
		layout = "0601021504Z0700"
		if len(v) >= 13 {
			layout = "060102150405Z0700"
		}
	case asn1.GeneralizedTime:
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(layout, string(v))
	if err != nil {
		return time.Time{}, false
	}
	if tag == asn1.UTCTime && t.Year() >= 2050 { // RFC 5280 §4.1.2.5.1
		t = t.AddDate(-100, 0, 0)
	}
	return t.UTC(), true
}

// readName prints a Name (RFC 5280 §4.1.2.4) the way RFC 4514 does, most
// specific RDN first, with the attributes of a multi-valued RDN joined by
// '+', as the certificate orders them; values are taken as their bytes,
// whatever their string type says.
func readName(seq cryptobyte.String) (name, cn string) {
	var rdns []string
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, asn1.SET) {
			break
		}
		var atvs []string
		for !set.Empty() {
			var atv cryptobyte.String
			var oid encoding_asn1.ObjectIdentifier
			var val cryptobyte.String
			var tag asn1.Tag
			if !set.ReadASN1(&atv, asn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) || !atv.ReadAnyASN1(&val, &tag) {
				break
			}
			key := nameOIDs[oid.String()]
			if key == "" {
				key = oid.String()
			}
			if key == "CN" {
				cn = string(val)
			}
			atvs = append(atvs, key+"="+escapeDN(string(val)))
		}
		rdns = append(rdns, strings.Join(atvs, "+"))
	}
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return strings.Join(rdns, ","), cn
}

// escapeDN escapes what RFC 4514 §2.4 requires in an attribute value.
func escapeDN(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';',
			(c == '#' || c == ' ') && i == 0, c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// subjectAndIssuer prints both names of a parsed certificate from its raw
// DER, in the certificate's own order.
func subjectAndIssuer(rawSubject, rawIssuer []byte) (subject, issuer string) {
	subject, _ = readName(innerSequence(rawSubject))
	issuer, _ = readName(innerSequence(rawIssuer))
	return subject, issuer
}

func innerSequence(der []byte) cryptobyte.String {
	s := cryptobyte.String(der)
	var inner cryptobyte.String
	s.ReadASN1(&inner, asn1.SEQUENCE)
	return inner
}
