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
var nameOIDs = map[string]string{
	"2.5.4.3": "CN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
	"2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.17": "POSTALCODE",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
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
	c.Serial = strings.TrimLeft(hex.EncodeToString(serial), "0")
	if c.Serial == "" {
		c.Serial = "0"
	}
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

// readName prints an RDNSequence most specific first, as pkix.Name does,
// taking values as their bytes whatever their string type says.
func readName(seq cryptobyte.String) (name, cn string) {
	var parts []string
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, asn1.SET) {
			break
		}
		for !set.Empty() {
			var atv cryptobyte.String
			var oid struct {
				id encoding_asn1.ObjectIdentifier
			}
			var val cryptobyte.String
			var tag asn1.Tag
			if !set.ReadASN1(&atv, asn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid.id) || !atv.ReadAnyASN1(&val, &tag) {
				break
			}
			key := nameOIDs[oid.id.String()]
			if key == "" {
				key = oid.id.String()
			}
			if key == "CN" {
				cn = string(val)
			}
			parts = append(parts, key+"="+string(val))
		}
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ","), cn
}
