package decoder

import (
	"fmt"
	"strings"
)

//go:generate go run gen_registry.go

// Code points newer than the generated tables (IANA TLS registries, read
// 2026-11: draft-ietf-tls-ecdhe-mlkem, RFC 9849 ECH, ALPS). Reviewed by hand.
var (
	extraGroups = map[uint16]string{
		0x11eb: "SecP256r1MLKEM768",
		0x11ec: "X25519MLKEM768",
		0x11ed: "SecP384r1MLKEM1024",
		0x0200: "MLKEM512",
		0x0201: "MLKEM768",
		0x0202: "MLKEM1024",
		0x6399: "X25519Kyber768Draft00",
	}
	extraExtensions = map[uint16]string{
		0xfe0d: "encrypted_client_hello",
		0x44cd: "application_settings",
		0x0039: "quic_transport_parameters",
		0x0028: "key_share (draft)",
	}
	extraSignatureSchemes = map[uint16]string{
		0x0904: "mldsa44",
		0x0905: "mldsa65",
		0x0906: "mldsa87",
		0x081a: "ecdsa_brainpoolP256r1tls13_sha256",
		0x081b: "ecdsa_brainpoolP384r1tls13_sha384",
		0x081c: "ecdsa_brainpoolP512r1tls13_sha512",
	}
)

// IsGREASE reports whether v is one of the reserved GREASE values of
// RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa).
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

func lookup(v uint16, tables ...map[uint16]string) (string, bool) {
	if IsGREASE(v) {
		return "GREASE", true
	}
	for _, t := range tables {
		if n, ok := t[v]; ok {
			return n, true
		}
	}
	return "", false
}

// CipherSuiteName returns the IANA name of a cipher suite, or its number in hex.
func CipherSuiteName(v uint16) string {
	if n, ok := lookup(v, cipherSuiteNames); ok {
		return n
	}
	return fmt.Sprintf("0x%04X", v)
}

// ExtensionName returns the IANA name of an extension, or "unknown(N)".
func ExtensionName(v uint16) string {
	if n, ok := lookup(v, extraExtensions, extensionNames); ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", v)
}

// GroupName returns the IANA name of a named group.
func GroupName(v uint16) string {
	if n, ok := lookup(v, extraGroups, groupNames); ok {
		return n
	}
	return fmt.Sprintf("0x%04x", v)
}

// SignatureSchemeName returns the IANA name of a signature scheme.
func SignatureSchemeName(v uint16) string {
	if n, ok := lookup(v, extraSignatureSchemes, signatureSchemeNames); ok {
		return n
	}
	return fmt.Sprintf("0x%04x", v)
}

// Protocol versions (RFC 8446 §4.2.1, RFC 6101, draft-ietf-tls-tls13-xx).
const (
	VersionSSL20 uint16 = 0x0002
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
	// DTLS counts down from 0xfeff: the one's complement of the TLS
	// version it is based on, skipping 1.1 (RFC 6347 §4.1, RFC 9147 §5.3).
	VersionDTLS10 uint16 = 0xfeff
	VersionDTLS12 uint16 = 0xfefd
	VersionDTLS13 uint16 = 0xfefc
)

// VersionName names a protocol version the way users say it.
func VersionName(v uint16) string {
	switch v {
	case VersionSSL20:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	case VersionDTLS10:
		return "DTLS 1.0"
	case VersionDTLS12:
		return "DTLS 1.2"
	case VersionDTLS13:
		return "DTLS 1.3"
	}
	if IsGREASE(v) {
		return "GREASE"
	}
	if v>>8 == 0x7f {
		return fmt.Sprintf("TLS 1.3 (draft %d)", v&0xff)
	}
	if v == 0xfb1a || v>>8 == 0x7e {
		return fmt.Sprintf("TLS 1.3 (experimental 0x%04x)", v)
	}
	return fmt.Sprintf("0x%04x", v)
}

// isTLS13 reports whether v is TLS 1.3 or one of its drafts, or DTLS 1.3
// (RFC 9147: TLS 1.3's handshake over datagrams).
func isTLS13(v uint16) bool {
	return v == VersionTLS13 || v>>8 == 0x7f || v == 0xfb1a || v>>8 == 0x7e || v == VersionDTLS13
}

// IsDTLS reports whether v is a DTLS version (RFC 6347 §4.1, RFC 9147).
func IsDTLS(v uint16) bool {
	return v == VersionDTLS10 || v == VersionDTLS12 || v == VersionDTLS13
}

// TLSEquivalent is the TLS version whose rules a DTLS version follows: DTLS
// 1.0 is TLS 1.1 (explicit CBC IVs, the MD5/SHA-1 PRF; RFC 4347 §1), DTLS
// 1.2 is TLS 1.2 (RFC 6347 §1), DTLS 1.3 is TLS 1.3 (RFC 9147 §1). Other
// versions are themselves.
func TLSEquivalent(v uint16) uint16 {
	switch v {
	case VersionDTLS10:
		return VersionTLS11
	case VersionDTLS12:
		return VersionTLS12
	case VersionDTLS13:
		return VersionTLS13
	}
	return v
}

// Alert descriptions, with the names of RFC 8446 §6 and the IANA registry.
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
	21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
	40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
	43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
	46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error",
	52: "too_many_cids_requested", 60: "export_restriction", 70: "protocol_version",
	71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
	90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
	110: "unsupported_extension", 111: "certificate_unobtainable", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
	121: "ech_required",
}

// AlertName returns the RFC name of an alert description.
func AlertName(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", d)
}

// CipherSuiteInfo is what a cipher suite's name says about it.
type CipherSuiteInfo struct {
	ID             uint16
	Name           string
	KeyExchange    string // RSA, ECDHE, DHE, ECDH, DH, PSK, SRP, ... ; "any" for TLS 1.3
	Authentication string // RSA, ECDSA, DSS, anon, PSK, ... ; "any" for TLS 1.3
	Cipher         string // e.g. AES_128_GCM, CHACHA20_POLY1305, RC4_128, NULL
	MAC            string // SHA, SHA256, MD5, or AEAD
	ForwardSecrecy bool
	AEAD           bool
	Export         bool
	// Weak: NULL or EXPORT ciphers, anonymous authentication, RC4, DES,
	// 3DES, or MD5 message authentication.
	Weak bool
	// FIPS: allowed in an approved mode under FIPS 140-3 and NIST
	// SP 800-52r2/SP 800-131Ar2: AES (GCM, CCM, CBC) with ephemeral
	// (EC)DH and SHA-1/SHA-2 MACs; TLS 1.3 AES suites. RSA key transport
	// (PKCS #1 v1.5) is disallowed since 2024 and so not counted.
	FIPS bool
}

var macs = map[string]bool{"SHA": true, "SHA256": true, "SHA384": true, "SHA512": true, "MD5": true, "SM3": true}

// CipherSuite decomposes a cipher suite into its parts by its IANA name.
func CipherSuite(v uint16) CipherSuiteInfo {
	info := CipherSuiteInfo{ID: v, Name: CipherSuiteName(v)}
	name := info.Name
	if !strings.HasPrefix(name, "TLS_") {
		return info
	}
	rest := strings.TrimPrefix(name, "TLS_")
	kx, enc, hasWith := strings.Cut(rest, "_WITH_")
	if !hasWith {
		// TLS 1.3 (RFC 8446 §B.4): TLS_AEAD_HASH; key exchange and
		// authentication are negotiated separately.
		info.KeyExchange, info.Authentication = "any", "any"
		if i := strings.LastIndex(rest, "_"); i > 0 {
			info.Cipher = rest[:i]
		}
		info.MAC = "AEAD"
		info.AEAD, info.ForwardSecrecy = true, true
		info.FIPS = strings.HasPrefix(info.Cipher, "AES_")
		return info
	}
	if strings.HasSuffix(kx, "_EXPORT") || strings.HasSuffix(kx, "_EXPORT1024") {
		info.Export = true
		kx = kx[:strings.LastIndex(kx, "_EXPORT")]
	}
	parts := strings.SplitN(kx, "_", 2)
	info.KeyExchange = parts[0]
	info.Authentication = parts[0]
	if len(parts) == 2 {
		info.Authentication = parts[1]
	}
	if info.KeyExchange == "SRP" && len(parts) == 2 { // SRP_SHA_RSA
		info.Authentication = strings.TrimPrefix(parts[1], "SHA_")
		if info.Authentication == "SHA" {
			info.Authentication = "SRP"
		}
	}
	if i := strings.LastIndex(enc, "_"); i > 0 && macs[enc[i+1:]] {
		info.Cipher, info.MAC = enc[:i], enc[i+1:]
	} else {
		info.Cipher = enc
	}
	info.AEAD = strings.Contains(info.Cipher, "GCM") || strings.Contains(info.Cipher, "CCM") || strings.Contains(info.Cipher, "POLY1305")
	if info.AEAD {
		info.MAC = "AEAD"
	}
	info.ForwardSecrecy = info.KeyExchange == "DHE" || info.KeyExchange == "ECDHE"
	c := info.Cipher
	info.Weak = info.Export || strings.Contains(c, "NULL") || info.Authentication == "anon" ||
		strings.Contains(c, "RC4") || strings.Contains(c, "DES") || info.MAC == "MD5" || strings.HasPrefix(c, "RC2")
	info.FIPS = !info.Weak && info.ForwardSecrecy && strings.HasPrefix(c, "AES_") &&
		(info.Authentication == "RSA" || info.Authentication == "ECDSA" || info.Authentication == "DSS" || info.Authentication == "PSK") &&
		info.MAC != "MD5"
	return info
}

// GroupFIPS reports whether key agreement over the named group is approved
// under FIPS 140-3 (SP 800-56A r3 curves and FFDHE groups, ML-KEM and its
// hybrids of SP 800-227). X25519 and X448 are not.
func GroupFIPS(v uint16) bool {
	switch v {
	case 0x0017, 0x0018, 0x0019, // secp256r1, secp384r1, secp521r1
		0x0100, 0x0101, 0x0102, 0x0103, 0x0104, // ffdhe2048..8192
		0x11eb, 0x11ec, 0x11ed, 0x0200, 0x0201, 0x0202: // ML-KEM and hybrids
		return true
	}
	return false
}

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 6066 §8).
const (
	typeHelloRequest        uint8 = 0
	typeClientHello         uint8 = 1
	typeServerHello         uint8 = 2
	typeHelloVerifyRequest  uint8 = 3
	typeNewSessionTicket    uint8 = 4
	typeEndOfEarlyData      uint8 = 5
	typeEncryptedExtensions uint8 = 8
	typeCertificate         uint8 = 11
	typeServerKeyExchange   uint8 = 12
	typeCertificateRequest  uint8 = 13
	typeServerHelloDone     uint8 = 14
	typeCertificateVerify   uint8 = 15
	typeClientKeyExchange   uint8 = 16
	typeFinished            uint8 = 20
	typeCertificateURL      uint8 = 21
	typeCertificateStatus   uint8 = 22
	typeSupplementalData    uint8 = 23
	typeKeyUpdate           uint8 = 24
	typeCompressedCert      uint8 = 25
	typeNextProtocol        uint8 = 67
)

var handshakeTypeNames = map[uint8]string{
	typeHelloRequest: "HelloRequest", typeClientHello: "ClientHello", typeServerHello: "ServerHello",
	typeHelloVerifyRequest: "HelloVerifyRequest", typeNewSessionTicket: "NewSessionTicket",
	typeEndOfEarlyData: "EndOfEarlyData", typeEncryptedExtensions: "EncryptedExtensions",
	typeCertificate: "Certificate", typeServerKeyExchange: "ServerKeyExchange",
	typeCertificateRequest: "CertificateRequest", typeServerHelloDone: "ServerHelloDone",
	typeCertificateVerify: "CertificateVerify", typeClientKeyExchange: "ClientKeyExchange",
	typeFinished: "Finished", typeCertificateURL: "CertificateURL", typeCertificateStatus: "CertificateStatus",
	typeSupplementalData: "SupplementalData", typeKeyUpdate: "KeyUpdate",
	typeCompressedCert: "CompressedCertificate", typeNextProtocol: "NextProtocol",
}

// HandshakeTypeName names a handshake message type.
func HandshakeTypeName(t uint8) string {
	if n, ok := handshakeTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Handshake(%d)", t)
}

// Record content types (RFC 8446 §5.1, RFC 6520).
const (
	recordChangeCipherSpec uint8 = 20
	recordAlert            uint8 = 21
	recordHandshake        uint8 = 22
	recordApplicationData  uint8 = 23
	recordHeartbeat        uint8 = 24
	// recordTLS12CID is DTLS 1.2's record with a connection ID (RFC 9146
	// §4), recordACK DTLS 1.3's ACK (RFC 9147 §7).
	recordTLS12CID uint8 = 25
	recordACK      uint8 = 26
)

// Extension code points used by the parser (IANA TLS ExtensionType Values).
const (
	extServerName           uint16 = 0
	extStatusRequest        uint16 = 5
	extUseSRTP              uint16 = 14 // RFC 5764 §4.1.1
	extSupportedGroups      uint16 = 10
	extECPointFormats       uint16 = 11
	extSignatureAlgorithms  uint16 = 13
	extALPN                 uint16 = 16
	extSCT                  uint16 = 18
	extExtendedMasterSecret uint16 = 23
	extSessionTicket        uint16 = 35
	extKeyShareDraft        uint16 = 40
	extPreSharedKey         uint16 = 41
	extEarlyData            uint16 = 42
	extSupportedVersions    uint16 = 43
	extCookie               uint16 = 44
	extPSKModes             uint16 = 45
	extKeyShare             uint16 = 51
	extConnectionID         uint16 = 54 // RFC 9146 §3
	extRenegotiationInfo    uint16 = 0xff01
	extEncryptedClientHello uint16 = 0xfe0d
)
