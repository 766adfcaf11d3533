package decoder

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// The structs here hold what a passive observer can read from each
// handshake message. Each unmarshal reports failure without keeping partial
// results, as in crypto/tls/handshake_messages.go.

// Extension is one extension as it appeared on the wire.
type Extension struct {
	Type uint16
	Data []byte
}

// KeyShare is one key_share entry (RFC 8446 §4.2.8).
type KeyShare struct {
	Group  uint16
	Length int
}

// ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
type ClientHello struct {
	Raw                  []byte // the message; nil once a Conn has detached it
	SSLv2                bool   // sent in the SSL 2.0 compatible format (RFC 5246 §E.2)
	Version              uint16 // legacy_version
	Random               []byte
	SessionID            []byte
	CipherSuites         []uint16
	Compression          []uint8
	Extensions           []Extension
	ServerName           string
	ALPN                 []string
	SupportedVersions    []uint16
	SupportedGroups      []uint16
	PointFormats         []uint8
	SignatureAlgorithms  []uint16
	KeyShares            []KeyShare
	PSKModes             []uint8
	PreSharedKey         bool // pre_shared_key offered
	PSKIdentities        int
	SessionTicketOffered bool // extension present
	SessionTicketLen     int  // >0 when the client presents a ticket
	// SessionTicketHash is the SHA-256 of the ticket presented, to find
	// the session it resumes (decryption of TLS 1.2 resumption).
	SessionTicketHash    [32]byte
	StatusRequest        bool
	ExtendedMasterSecret bool
	RenegotiationInfo    bool
	EarlyData            bool
	ECH                  bool // encrypted_client_hello: ServerName is the outer name
	Cookie               bool
	// DTLS: read as a DTLS ClientHello, with the cookie field after the
	// session ID (RFC 6347 §4.2.1; legacy_cookie in DTLS 1.3, RFC 9147
	// §5.3).
	DTLS bool
	// dtlsExt is what only DTLS hellos carry, nil when none of it was
	// sent: kept apart so that a TLS ClientHello, held by every
	// connection until it is reported, stays in its 448-byte size class
	// (a flood of unanswered hellos is that many).
	dtlsExt *dtlsHelloExt
	// Malformed says what of the extensions could not be parsed.
	Malformed string
}

// HasExtension reports whether the hello carries extension t.
func (m *ClientHello) HasExtension(t uint16) bool {
	for _, e := range m.Extensions {
		if e.Type == t {
			return true
		}
	}
	return false
}

// dtlsHelloExt holds a ClientHello's DTLS-only fields.
type dtlsHelloExt struct {
	cookie       []byte
	connectionID []byte
	srtpProfiles []uint16
}

func (m *ClientHello) ext() *dtlsHelloExt {
	if m.dtlsExt == nil {
		m.dtlsExt = &dtlsHelloExt{}
	}
	return m.dtlsExt
}

// DTLSCookie is a DTLS ClientHello's cookie field (empty in a first
// ClientHello, RFC 6347 §4.2.1).
func (m *ClientHello) DTLSCookie() []byte {
	if m.dtlsExt == nil {
		return nil
	}
	return m.dtlsExt.cookie
}

// ConnectionID is the CID the client asks its peer to put on the records
// it sends it (RFC 9146 §3); nil when not offered.
func (m *ClientHello) ConnectionID() []byte {
	if m.dtlsExt == nil {
		return nil
	}
	return m.dtlsExt.connectionID
}

// SRTPProfiles are the DTLS-SRTP protection profiles offered (use_srtp,
// RFC 5764 §4.1.1).
func (m *ClientHello) SRTPProfiles() []uint16 {
	if m.dtlsExt == nil {
		return nil
	}
	return m.dtlsExt.srtpProfiles
}

// MaxVersion is the highest version offered: supported_versions when
// present (GREASE ignored), else legacy_version. DTLS versions count
// down (RFC 6347 §4.1): they are ranked as the TLS versions they follow.
func (m *ClientHello) MaxVersion() uint16 {
	var max uint16
	for _, v := range m.SupportedVersions {
		if !IsGREASE(v) && (max == 0 || TLSEquivalent(v) > TLSEquivalent(max)) {
			max = v
		}
	}
	if max == 0 {
		return m.Version
	}
	return max
}

func (m *ClientHello) unmarshal(data []byte) bool { return m.unmarshalHello(data, false) }

// unmarshalHello reads a ClientHello; dtls: a DTLS one (RFC 6347
// §4.2.1), with a cookie<0..2^8-1> after the session ID.
func (m *ClientHello) unmarshalHello(data []byte, dtls bool) bool {
	*m = ClientHello{Raw: data, DTLS: dtls}
	s := cryptobyte.String(data)
	var random, sid, cookie cryptobyte.String
	if !s.Skip(4) || !s.ReadUint16(&m.Version) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || dtls && !s.ReadUint8LengthPrefixed(&cookie) {
		*m = ClientHello{}
		return false
	}
	m.Random, m.SessionID = random, sid
	if len(cookie) > 0 {
		m.ext().cookie = cookie
	}
	var suites cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&suites) || len(suites)%2 != 0 {
		return false
	}
	for !suites.Empty() {
		var v uint16
		suites.ReadUint16(&v)
		m.CipherSuites = append(m.CipherSuites, v)
	}
	var comp cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&comp) {
		return false
	}
	m.Compression = comp
	// Past the fixed part, keep what parses and say what did not: a
	// slightly broken hello still names its client.
	exts, ok := readExtensionsLenient(&s)
	if !ok {
		m.Malformed = "extensions block overruns the message"
	}
	m.Extensions = exts
	for _, e := range exts {
		if !m.parseExtension(e) && m.Malformed == "" {
			m.Malformed = "malformed " + ExtensionName(e.Type) + " extension"
		}
	}
	return true
}

// readExtensionsLenient returns the extensions that parse, and false when
// the block is cut short or overlong.
func readExtensionsLenient(s *cryptobyte.String) ([]Extension, bool) {
	if s.Empty() {
		return nil, true
	}
	var list cryptobyte.String
	ok := true
	if !s.ReadUint16LengthPrefixed(&list) {
		// Use what is there: the length says more than the message holds.
		ok = false
		if len(*s) < 2 {
			return nil, false
		}
		list = (*s)[2:]
	} else if !s.Empty() {
		ok = false
	}
	var exts []Extension
	for !list.Empty() {
		var t uint16
		var data cryptobyte.String
		if !list.ReadUint16(&t) || !list.ReadUint16LengthPrefixed(&data) {
			return exts, false
		}
		exts = append(exts, Extension{Type: t, Data: data})
	}
	return exts, ok
}

func (m *ClientHello) parseExtension(e Extension) bool {
	d := cryptobyte.String(e.Data)
	switch e.Type {
	case extServerName:
		// RFC 6066 §3: a list of names; only host_name (0) is defined.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) {
			return false
		}
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				return false
			}
			if nameType == 0 && m.ServerName == "" {
				m.ServerName = string(name)
			}
		}
	case extALPN:
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) {
			return false
		}
		for !list.Empty() {
			var proto cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&proto) {
				return false
			}
			m.ALPN = append(m.ALPN, string(proto))
		}
	case extSupportedVersions:
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 {
			return false
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			m.SupportedVersions = append(m.SupportedVersions, v)
		}
	case extSupportedGroups:
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
			return false
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			m.SupportedGroups = append(m.SupportedGroups, v)
		}
	case extECPointFormats:
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) {
			return false
		}
		m.PointFormats = list
	case extSignatureAlgorithms:
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
			return false
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			m.SignatureAlgorithms = append(m.SignatureAlgorithms, v)
		}
	case extKeyShare, extKeyShareDraft:
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) {
			return false
		}
		for !list.Empty() {
			var g uint16
			var key cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&key) {
				return false
			}
			m.KeyShares = append(m.KeyShares, KeyShare{Group: g, Length: len(key)})
		}
	case extPSKModes:
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) {
			return false
		}
		m.PSKModes = list
	case extPreSharedKey:
		m.PreSharedKey = true
		var ids cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&ids) {
			return false
		}
		for !ids.Empty() {
			var id cryptobyte.String
			var age uint32
			if !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&age) {
				return false
			}
			m.PSKIdentities++
		}
	case extSessionTicket:
		m.SessionTicketOffered = true
		m.SessionTicketLen = len(e.Data)
		if len(e.Data) > 0 {
			m.SessionTicketHash = sha256.Sum256(e.Data)
		}
	case extStatusRequest:
		m.StatusRequest = true
	case extExtendedMasterSecret:
		m.ExtendedMasterSecret = true
	case extRenegotiationInfo:
		m.RenegotiationInfo = true
	case extEarlyData:
		m.EarlyData = true
	case extEncryptedClientHello:
		m.ECH = true
	case extCookie:
		m.Cookie = true
	case extConnectionID:
		// RFC 9146 §3: opaque cid<0..2^8-1>.
		var cid cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&cid) || !d.Empty() {
			return false
		}
		m.ext().connectionID = append([]byte{}, cid...)
	case extUseSRTP:
		// RFC 5764 §4.1.1: SRTPProtectionProfiles, then srtp_mki.
		var list, mki cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 || !d.ReadUint8LengthPrefixed(&mki) {
			return false
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			m.ext().srtpProfiles = append(m.ext().srtpProfiles, v)
		}
	}
	return true
}

// unmarshalSSLv2 reads an SSL 2.0 CLIENT-HELLO (RFC 6101 §E, draft-hickman
// SSL 2.0 §2.5); body starts after the two-byte record header.
func (m *ClientHello) unmarshalSSLv2(body []byte) bool {
	*m = ClientHello{Raw: body, SSLv2: true}
	s := cryptobyte.String(body)
	var msgType uint8
	var specLen, sidLen, chalLen uint16
	if !s.ReadUint8(&msgType) || msgType != 1 || !s.ReadUint16(&m.Version) ||
		!s.ReadUint16(&specLen) || !s.ReadUint16(&sidLen) || !s.ReadUint16(&chalLen) || specLen%3 != 0 {
		return false
	}
	var specs, sid, chal []byte
	if !s.ReadBytes(&specs, int(specLen)) || !s.ReadBytes(&sid, int(sidLen)) || !s.ReadBytes(&chal, int(chalLen)) {
		return false
	}
	for i := 0; i+3 <= len(specs); i += 3 {
		if specs[i] == 0 { // TLS suites are carried as 0x00XXXX
			m.CipherSuites = append(m.CipherSuites, uint16(specs[i+1])<<8|uint16(specs[i+2]))
		}
	}
	m.SessionID = sid
	m.Random = chal
	m.Compression = []uint8{0}
	return true
}

// helloRetryRequestRandom is SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
// detach lets go of the message's bytes once parsed: Random and SessionID
// are copied out, Raw and the extensions' data dropped. A connection's
// hello then no longer holds its buffer (1.5 KB with a post-quantum key
// share, and the server's whole flight behind a ServerHello), which
// matters with thousands of connections waiting for their turn to be
// reported.
func (m *ClientHello) detach() {
	m.Raw, m.Random, m.SessionID = nil, bytes.Clone(m.Random), bytes.Clone(m.SessionID)
	m.Compression, m.PointFormats, m.PSKModes = bytes.Clone(m.Compression), bytes.Clone(m.PointFormats), bytes.Clone(m.PSKModes)
	if m.dtlsExt != nil {
		m.dtlsExt.cookie = bytes.Clone(m.dtlsExt.cookie)
	}
	for i := range m.Extensions {
		m.Extensions[i].Data = nil
	}
}

func (m *ServerHello) detach() {
	m.Raw, m.Random, m.SessionID = nil, bytes.Clone(m.Random), bytes.Clone(m.SessionID)
	for i := range m.Extensions {
		m.Extensions[i].Data = nil
	}
}

var helloRetryRequestRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4).
type ServerHello struct {
	Raw               []byte // the message; nil once a Conn has detached it
	SSLv2             bool
	Version           uint16 // legacy_version
	Random            []byte
	SessionID         []byte
	CipherSuite       uint16
	Compression       uint8
	Extensions        []Extension
	SupportedVersion  uint16 // selected by supported_versions (TLS 1.3)
	ALPN              string
	KeyShareGroup     uint16
	PSKAccepted       bool // pre_shared_key selected (TLS 1.3)
	SessionTicketAck  bool // empty session_ticket extension: a new ticket will follow
	HelloRetryRequest bool
	ExtendedMaster    bool
	Cookie            bool
	// SCTs counts the Signed Certificate Timestamps of the
	// signed_certificate_timestamp extension (RFC 6962 §3.3.1), not verified.
	SCTs int
	// ConnectionID is the CID the server asks the client to put on the
	// records it sends (RFC 9146 §3); nil when none was negotiated.
	ConnectionID []byte
	// SRTPProfile is the DTLS-SRTP protection profile chosen (RFC 5764
	// §4.1.1), 0 when none.
	SRTPProfile uint16
}

// NegotiatedVersion is supported_versions when present, else legacy_version.
func (m *ServerHello) NegotiatedVersion() uint16 {
	if m.SupportedVersion != 0 {
		return m.SupportedVersion
	}
	return m.Version
}

func (m *ServerHello) unmarshal(data []byte) bool {
	*m = ServerHello{Raw: data}
	s := cryptobyte.String(data)
	var random, sid cryptobyte.String
	if !s.Skip(4) || !s.ReadUint16(&m.Version) || !s.ReadBytes((*[]byte)(&random), 32) {
		return false
	}
	m.Random = random
	// TLS 1.3 drafts before 22 had no session id or compression (draft-21 §4.1.3).
	if m.Version>>8 == 0x7f && m.Version&0xff < 22 {
		m.SupportedVersion = m.Version
		if !s.ReadUint16(&m.CipherSuite) {
			return false
		}
	} else if !s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&m.CipherSuite) || !s.ReadUint8(&m.Compression) {
		return false
	}
	m.SessionID = sid
	m.HelloRetryRequest = bytes.Equal(m.Random, helloRetryRequestRandom)
	// A ServerHello is parsed strictly: one malformed is not trusted.
	exts, ok := readExtensionsLenient(&s)
	if !ok {
		return false
	}
	m.Extensions = exts
	for _, e := range exts {
		d := cryptobyte.String(e.Data)
		switch e.Type {
		case extSupportedVersions:
			if !d.ReadUint16(&m.SupportedVersion) {
				return false
			}
		case extALPN:
			var list, proto cryptobyte.String
			if !d.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&proto) {
				return false
			}
			m.ALPN = string(proto)
		case extKeyShare, extKeyShareDraft:
			// ServerHello: KeyShareEntry; HelloRetryRequest: selected group only.
			if !d.ReadUint16(&m.KeyShareGroup) {
				return false
			}
		case extPreSharedKey:
			m.PSKAccepted = true
		case extSessionTicket:
			m.SessionTicketAck = true
		case extExtendedMasterSecret:
			m.ExtendedMaster = true
		case extCookie:
			m.Cookie = true
		case extSCT:
			m.SCTs = countSCTs(e.Data, false)
		case extConnectionID:
			var cid cryptobyte.String
			if !d.ReadUint8LengthPrefixed(&cid) {
				return false
			}
			m.ConnectionID = append([]byte{}, cid...)
		case extUseSRTP:
			// RFC 5764 §4.1.1: a list holding the one profile chosen.
			var list cryptobyte.String
			if !d.ReadUint16LengthPrefixed(&list) || !list.ReadUint16(&m.SRTPProfile) {
				return false
			}
		}
	}
	return true
}

// HasExtension reports whether the hello carries extension t.
func (m *ServerHello) HasExtension(t uint16) bool {
	for _, e := range m.Extensions {
		if e.Type == t {
			return true
		}
	}
	return false
}

// certificateMsg is Certificate of TLS 1.2 and earlier (RFC 5246 §7.4.2)
// or TLS 1.3 (RFC 8446 §4.4.2), the latter only visible when decrypted.
type certificateMsg struct {
	certs [][]byte
	// status: TLS 1.3, the OCSPResponse in the first entry's
	// status_request extension (RFC 8446 §4.4.2.1), nil when none.
	status []byte
}

func (m *certificateMsg) unmarshal(data []byte, tls13 bool) bool {
	*m = certificateMsg{}
	s := cryptobyte.String(data)
	if !s.Skip(4) {
		return false
	}
	if tls13 {
		var ctx cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&ctx) {
			return false
		}
	}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) {
		return false
	}
	for !list.Empty() {
		var cert cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&cert) {
			return false
		}
		m.certs = append(m.certs, cert)
		if tls13 {
			var exts cryptobyte.String
			if !list.ReadUint16LengthPrefixed(&exts) {
				return false
			}
			if len(m.certs) == 1 && !m.readEntryExtensions(exts) {
				return false
			}
		}
	}
	return true
}

// readEntryExtensions reads the leaf's CertificateEntry extensions
// (RFC 8446 §4.4.2): a status_request holds a CertificateStatus.
func (m *certificateMsg) readEntryExtensions(exts cryptobyte.String) bool {
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
			return false
		}
		if typ == extStatusRequest && m.status == nil {
			der, ok := readCertificateStatus(body)
			if !ok {
				return false
			}
			m.status = der
		}
	}
	return true
}

// ServerKeyExchange (RFC 8422 §5.4, RFC 5246 §7.4.3): the named group of
// an ECDHE exchange and the signature scheme, where present.
type ServerKeyExchange struct {
	Group           uint16 // for ECDHE named_curve
	DHBits          int    // for DHE: size of the prime p
	SignatureScheme uint16 // TLS 1.2 only
}

func (m *ServerKeyExchange) unmarshal(data []byte, suite CipherSuiteInfo, version uint16) bool {
	*m = ServerKeyExchange{}
	s := cryptobyte.String(data)
	if !s.Skip(4) {
		return false
	}
	switch suite.KeyExchange {
	case "ECDHE", "ECDH":
		var curveType uint8
		if !s.ReadUint8(&curveType) {
			return false
		}
		if curveType != 3 { // named_curve
			return true
		}
		var point cryptobyte.String
		if !s.ReadUint16(&m.Group) || !s.ReadUint8LengthPrefixed(&point) {
			return false
		}
	case "DHE", "DH":
		var p, g, y cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&p) || !s.ReadUint16LengthPrefixed(&g) || !s.ReadUint16LengthPrefixed(&y) {
			return false
		}
		bits := len(p) * 8
		for i := 0; i < len(p) && p[i] == 0; i++ {
			bits -= 8
		}
		m.DHBits = bits
	default:
		return true
	}
	if version == VersionTLS12 && suite.Authentication != "anon" && !s.Empty() {
		if !s.ReadUint16(&m.SignatureScheme) {
			return false
		}
	}
	return true
}

// NewSessionTicket (RFC 5077 §3.3; RFC 8446 §4.6.1 once decrypted).
type NewSessionTicket struct {
	LifetimeHint uint32 // seconds
	TicketLength int
	// TicketHash is the SHA-256 of the ticket, by which a later ClientHello
	// presenting it is matched to this session.
	TicketHash [32]byte
	// TLS 1.3 only.
	AgeAdd       uint32
	MaxEarlyData uint32 // from the early_data extension, 0 when absent
}

func (m *NewSessionTicket) unmarshal(data []byte, tls13 bool) bool {
	*m = NewSessionTicket{}
	s := cryptobyte.String(data)
	var ticket cryptobyte.String
	if !s.Skip(4) || !s.ReadUint32(&m.LifetimeHint) {
		return false
	}
	if !tls13 {
		if !s.ReadUint16LengthPrefixed(&ticket) {
			return false
		}
		m.TicketLength = len(ticket)
		m.TicketHash = sha256.Sum256(ticket)
		return true
	}
	// RFC 8446 §4.6.1: age_add, nonce, ticket, extensions.
	var nonce, exts cryptobyte.String
	if !s.ReadUint32(&m.AgeAdd) || !s.ReadUint8LengthPrefixed(&nonce) || !s.ReadUint16LengthPrefixed(&ticket) ||
		len(ticket) == 0 || !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return false
	}
	m.TicketLength = len(ticket)
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
			return false
		}
		if typ == extEarlyData && !body.ReadUint32(&m.MaxEarlyData) {
			return false
		}
	}
	return true
}

// CertificateRequest (RFC 5246 §7.4.4): only its presence matters here.
type CertificateRequest struct {
	SignatureAlgorithms []uint16
}

func (m *CertificateRequest) unmarshal(data []byte, version uint16) bool {
	*m = CertificateRequest{}
	s := cryptobyte.String(data)
	var types cryptobyte.String
	if !s.Skip(4) || !s.ReadUint8LengthPrefixed(&types) {
		return false
	}
	if version >= VersionTLS12 {
		var algs cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&algs) || len(algs)%2 != 0 {
			return false
		}
		for !algs.Empty() {
			var v uint16
			algs.ReadUint16(&v)
			m.SignatureAlgorithms = append(m.SignatureAlgorithms, v)
		}
	}
	var cas cryptobyte.String
	return s.ReadUint16LengthPrefixed(&cas)
}

// Alert (RFC 8446 §6).
type Alert struct {
	From        Side
	Level       uint8 // 1 warning, 2 fatal; 0 when encrypted
	Description uint8
	Encrypted   bool
	// Probable: an encrypted record that by its size and place is
	// most likely an alert (TLS 1.3 hides the content type).
	Probable bool
	// Time is when it was sent.
	Time time.Time
	// AfterData: sent after its side's application data, so most likely
	// close_notify, closing the connection rather than refusing the
	// handshake (encrypted alerts hide which).
	AfterData bool
	// Reaction: sent after the peer had closed the connection: an answer
	// to that, not the cause of the end.
	Reaction bool
	// Renegotiation: sent during a renegotiation, about the second
	// handshake: the first one stands.
	Renegotiation bool
}

// Fatal reports whether the alert ends the connection.
func (a Alert) Fatal() bool { return a.Level == 2 }

// LevelName is "warning", "fatal", or "unknown" for encrypted alerts.
func (a Alert) LevelName() string {
	switch a.Level {
	case 1:
		return "warning"
	case 2:
		return "fatal"
	case 0:
		return "unknown"
	}
	return fmt.Sprintf("level(%d)", a.Level)
}

// DescriptionName is the RFC name, or "encrypted".
func (a Alert) DescriptionName() string {
	if a.Encrypted {
		return "encrypted"
	}
	return AlertName(a.Description)
}
