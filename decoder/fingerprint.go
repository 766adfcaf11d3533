package decoder

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
)

// Fingerprints are built with append into one buffer: they are computed
// for every connection of a capture, and fmt showed in the profiles.

func appendDecimals[T uint8 | uint16](b []byte, vs []T, skipGREASE bool) []byte {
	first := true
	for _, v := range vs {
		if skipGREASE && IsGREASE(uint16(v)) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

func appendExtensionTypes(b []byte, exts []Extension) []byte {
	first := true
	for _, e := range exts {
		if IsGREASE(e.Type) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(e.Type), 10)
	}
	return b
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// JA3 returns the JA3 string and its MD5 (salesforce/ja3): legacy version,
// cipher suites, extensions, supported groups and point formats in wire
// order, GREASE removed.
func (m *ClientHello) JA3() (full, hash string) {
	b := make([]byte, 0, 256)
	b = strconv.AppendUint(b, uint64(m.Version), 10)
	b = append(b, ',')
	b = appendDecimals(b, m.CipherSuites, true)
	b = append(b, ',')
	b = appendExtensionTypes(b, m.Extensions)
	b = append(b, ',')
	b = appendDecimals(b, m.SupportedGroups, true)
	b = append(b, ',')
	b = appendDecimals(b, m.PointFormats, false)
	return string(b), md5Hex(b)
}

// JA3S returns the JA3S string and its MD5: legacy version, chosen suite,
// extensions in wire order.
func (m *ServerHello) JA3S() (full, hash string) {
	b := make([]byte, 0, 64)
	b = strconv.AppendUint(b, uint64(m.Version), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(m.CipherSuite), 10)
	b = append(b, ',')
	b = appendExtensionTypes(b, m.Extensions)
	return string(b), md5Hex(b)
}

func ja4Version(v uint16) string {
	switch v {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case VersionSSL20:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// appendJA4Hash appends the first 12 hex digits of the SHA-256 of s, or
// twelve zeros for an empty s.
func appendJA4Hash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	return hex.AppendEncode(b, sum[:6])
}

const hexDigits = "0123456789abcdef"

// appendHexList appends vs as comma-separated four-digit hex numbers.
func appendHexList(b []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
	}
	return b
}

func twoDigits(b []byte, n int) []byte {
	n = min(n, 99)
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// JA4 returns the JA4 client fingerprint of FoxIO's specification (the
// BSD-licensed part of JA4+) for a hello carried over TCP.
func (m *ClientHello) JA4() string { return m.JA4Over('t') }

// JA4Over is JA4 with the transport's letter: 't' for TCP, 'q' for QUIC.
func (m *ClientHello) JA4Over(transport byte) string {
	var suites, exts, sorted, sigs []uint16
	for _, v := range m.CipherSuites {
		if !IsGREASE(v) {
			suites = append(suites, v)
		}
	}
	sni := "i"
	for _, e := range m.Extensions {
		if IsGREASE(e.Type) {
			continue
		}
		exts = append(exts, e.Type)
		if e.Type == extServerName {
			sni = "d"
		}
		if e.Type != extServerName && e.Type != extALPN {
			sorted = append(sorted, e.Type)
		}
	}
	for _, v := range m.SignatureAlgorithms {
		if !IsGREASE(v) {
			sigs = append(sigs, v)
		}
	}
	alpn := "00"
	if len(m.ALPN) > 0 && len(m.ALPN[0]) > 0 {
		// First and last character of the first protocol; FoxIO's
		// reference outputs (tls-non-ascii-alpn.pcapng) show a byte that is
		// not an ASCII letter or digit as '9'.
		p := m.ALPN[0]
		pick := func(b byte) byte {
			if isAlnum(b) {
				return b
			}
			return '9'
		}
		alpn = string([]byte{pick(p[0]), pick(p[len(p)-1])})
	}
	out := make([]byte, 0, 36)
	out = append(out, transport)
	out = append(out, ja4Version(m.MaxVersion())...)
	out = append(out, sni...)
	out = twoDigits(out, len(suites))
	out = twoDigits(out, len(exts))
	out = append(out, alpn...)
	slices.Sort(suites)
	slices.Sort(sorted)
	scratch := make([]byte, 0, 512)
	scratch = appendHexList(scratch, suites)
	out = append(out, '_')
	out = appendJA4Hash(out, scratch)
	scratch = scratch[:0]
	if len(sorted) > 0 {
		scratch = appendHexList(scratch, sorted)
		if len(sigs) > 0 {
			scratch = append(scratch, '_')
			scratch = appendHexList(scratch, sigs)
		}
	}
	out = append(out, '_')
	out = appendJA4Hash(out, scratch)
	return string(out)
}
