package decoder

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func joinDecimal[T uint8 | uint16](vs []T, skipGREASE bool) string {
	var b strings.Builder
	first := true
	for _, v := range vs {
		if skipGREASE && IsGREASE(uint16(v)) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
	return b.String()
}

func extensionTypes(exts []Extension) []uint16 {
	out := make([]uint16, len(exts))
	for i, e := range exts {
		out[i] = e.Type
	}
	return out
}

// JA3 returns the JA3 string and its MD5 (salesforce/ja3): legacy version,
// cipher suites, extensions, supported groups and point formats in wire
// order, GREASE removed.
func (m *ClientHello) JA3() (full, hash string) {
	full = fmt.Sprintf("%d,%s,%s,%s,%s", m.Version,
		joinDecimal(m.CipherSuites, true), joinDecimal(extensionTypes(m.Extensions), true),
		joinDecimal(m.SupportedGroups, true), joinDecimal(m.PointFormats, false))
	sum := md5.Sum([]byte(full))
	return full, hex.EncodeToString(sum[:])
}

// JA3S returns the JA3S string and its MD5: legacy version, chosen suite,
// extensions in wire order.
func (m *ServerHello) JA3S() (full, hash string) {
	full = fmt.Sprintf("%d,%d,%s", m.Version, m.CipherSuite, joinDecimal(extensionTypes(m.Extensions), true))
	sum := md5.Sum([]byte(full))
	return full, hex.EncodeToString(sum[:])
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

func ja4Hash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

func hexList(vs []uint16) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%04x", v)
	}
	return strings.Join(parts, ",")
}

// JA4 returns the JA4 client fingerprint of FoxIO's specification (the
// BSD-licensed part of JA4+) for a hello carried over TCP.
func (m *ClientHello) JA4() string {
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
	a := fmt.Sprintf("t%s%s%02d%02d%s", ja4Version(m.MaxVersion()), sni, min(len(suites), 99), min(len(exts), 99), alpn)
	sort.Slice(suites, func(i, j int) bool { return suites[i] < suites[j] })
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	c := hexList(sorted)
	if len(sigs) > 0 {
		c += "_" + hexList(sigs)
	}
	if len(sorted) == 0 {
		c = ""
	}
	return a + "_" + ja4Hash(hexList(suites)) + "_" + ja4Hash(c)
}
