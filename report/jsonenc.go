package report

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// The JSON Lines record written by hand: encoding/json's reflection was a
// fifth of the CPU of a flood (2,000,000 records). The bytes are
// encoding/json's exactly (field order, omitempty, HTML escaping, number
// forms, nil slices as null); jsonenc_test.go compares the two on every
// field. Facts that are rare in a record (validation, decryption, two
// vantage points) still go through encoding/json.

// errNotFinite: a NaN or an infinity, which JSON cannot say; the caller
// asks encoding/json for its error.
var errNotFinite = errors.New("json: unsupported value")

// jsonRecord appends c as one JSON object, without a newline.
func jsonRecord(b []byte, c *Connection) ([]byte, error) {
	var err error
	b = append(b, `{"stream":`...)
	b = strconv.AppendInt(b, int64(c.Stream), 10)
	b = jsonKeyString(b, `,"transport":`, c.Transport)
	b = jsonKeyString(b, `,"client":`, c.Client)
	b = jsonKeyString(b, `,"server":`, c.Server)
	b = jsonKeyString(b, `,"client_ip":`, c.ClientIP)
	b = jsonKeyInt(b, `,"client_port":`, int64(c.ClientPort))
	b = jsonKeyString(b, `,"server_ip":`, c.ServerIP)
	b = jsonKeyInt(b, `,"server_port":`, int64(c.ServerPort))
	b = jsonKeyString(b, `,"community_id":`, c.CommunityID)
	if c.File != "" {
		b = jsonKeyString(b, `,"file":`, c.File)
	}
	b = jsonKeyString(b, `,"start":`, c.Start)
	if b, err = jsonKeyFloat(b, `,"duration_ms":`, c.DurationMS); err != nil {
		return b, err
	}
	b = jsonKeyString(b, `,"outcome":`, c.Outcome)
	b = jsonKeyString(b, `,"verdict":`, c.Verdict)
	b = jsonKeyString(b, `,"reason":`, c.Reason)
	if c.ReasonSide != "" {
		b = jsonKeyString(b, `,"reason_side":`, c.ReasonSide)
	}
	if len(c.ReasonFrames) > 0 {
		b = jsonInts(append(b, `,"reason_frames":`...), c.ReasonFrames)
	}
	b = jsonKeyBool(b, `,"established":`, c.Established)
	b = jsonKeyBool(b, `,"resumed":`, c.Resumed)
	if c.Open {
		b = append(b, `,"open":true`...)
	}
	if c.Update {
		b = append(b, `,"update":true`...)
	}
	if c.Resumption != "" {
		b = jsonKeyString(b, `,"resumption":`, c.Resumption)
	}
	if c.Version != "" {
		b = jsonKeyString(b, `,"version":`, c.Version)
	}
	if c.ClientHello != nil {
		b = jsonClientHello(append(b, `,"client_hello":`...), c.ClientHello)
	}
	if c.ServerHello != nil {
		b = jsonServerHello(append(b, `,"server_hello":`...), c.ServerHello)
	}
	if len(c.Certificates) > 0 {
		b = jsonCertificates(append(b, `,"certificates":`...), c.Certificates)
	}
	if len(c.ClientCertificates) > 0 {
		b = jsonCertificates(append(b, `,"client_certificates":`...), c.ClientCertificates)
	}
	if c.Validation != nil {
		if b, err = jsonReflect(append(b, `,"validation":`...), c.Validation); err != nil {
			return b, err
		}
	}
	if c.ClientValidation != nil {
		if b, err = jsonReflect(append(b, `,"client_validation":`...), c.ClientValidation); err != nil {
			return b, err
		}
	}
	if k := c.ServerKeyExchange; k != nil {
		b = append(b, `,"server_key_exchange":{`...)
		if k.Group != "" {
			b = jsonKeyString(jsonComma(b), `"group":`, k.Group)
		}
		if k.DHBits != 0 {
			b = jsonKeyInt(jsonComma(b), `"dh_bits":`, int64(k.DHBits))
		}
		if k.SignatureScheme != "" {
			b = jsonKeyString(jsonComma(b), `"signature_scheme":`, k.SignatureScheme)
		}
		b = append(b, '}')
	}
	if c.CertificateRequested != nil {
		b = jsonKeyBool(b, `,"certificate_requested":`, *c.CertificateRequested)
	}
	if t := c.SessionTicket; t != nil {
		b = jsonKeyInt(b, `,"session_ticket":{"lifetime_s":`, int64(t.LifetimeS))
		b = jsonKeyInt(b, `,"ticket_length":`, int64(t.TicketLength))
		b = append(b, '}')
	}
	if c.OCSP != nil {
		b = jsonOCSP(append(b, `,"ocsp":`...), c.OCSP)
	}
	if len(c.Alerts) > 0 {
		b = append(b, `,"alerts":[`...)
		for i := range c.Alerts {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonAlert(b, &c.Alerts[i])
		}
		b = append(b, ']')
	}
	if s := c.Stall; s != nil {
		b = jsonKeyString(b, `,"stall":{"waiting_for":`, s.WaitingFor)
		b = jsonKeyString(b, `,"next":`, s.Next)
		if b, err = jsonKeyFloat(b, `,"silent_ms":`, s.SilentMS); err != nil {
			return b, err
		}
		if s.After != "" {
			b = jsonKeyString(b, `,"after":`, s.After)
		}
		if p := s.Sending; p != nil {
			b = jsonKeyString(b, `,"sending":{"type":`, p.Type)
			b = jsonKeyInt(b, `,"length":`, int64(p.Length))
			b = jsonKeyInt(b, `,"received":`, int64(p.Received))
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if c.Decryption != nil {
		if b, err = jsonReflect(append(b, `,"decryption":`...), c.Decryption); err != nil {
			return b, err
		}
	}
	b = jsonKeyString(b, `,"ended_by":`, c.EndedBy)
	if c.ClosedBy != "" {
		b = jsonKeyString(b, `,"closed_by":`, c.ClosedBy)
	}
	if t := c.Timing; t != nil {
		b = append(b, `,"timing":{`...)
		for _, f := range [...]struct {
			key string
			v   *float64
		}{{`"tcp_rtt_ms":`, t.TCPRTTMS}, {`"hello_rtt_ms":`, t.HelloRTTMS}, {`"handshake_ms":`, t.HandshakeMS}} {
			if f.v != nil {
				if b, err = jsonKeyFloat(jsonComma(b), f.key, *f.v); err != nil {
					return b, err
				}
			}
		}
		b = append(b, '}')
	}
	if !c.TCP.IsZero() {
		if b, err = jsonTCP(append(b, `,"tcp":`...), &c.TCP); err != nil {
			return b, err
		}
	}
	if c.QUIC != nil {
		b = jsonQUIC(append(b, `,"quic":`...), c.QUIC)
	}
	if c.DTLS != nil {
		b = jsonDTLS(append(b, `,"dtls":`...), c.DTLS)
	}
	if f := c.Fallback; f != nil {
		b = jsonKeyString(b, `,"fallback":{"transport":`, f.Transport)
		b = jsonKeyInt(b, `,"stream":`, int64(f.Stream))
		b = append(b, '}')
	}
	if len(c.Messages) > 0 {
		b = append(b, `,"messages":[`...)
		for i := range c.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = jsonMessage(b, &c.Messages[i]); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	if len(c.Findings) > 0 {
		b = append(b, `,"findings":[`...)
		for i := range c.Findings {
			f := &c.Findings[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonKeyString(b, `{"severity":`, string(f.Severity))
			b = jsonKeyString(b, `,"code":`, f.Code)
			b = jsonKeyString(b, `,"message":`, f.Message)
			if len(f.Frames) > 0 {
				b = jsonInts(append(b, `,"frames":`...), f.Frames)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func jsonClientHello(b []byte, h *ClientHello) []byte {
	b = jsonKeyString(b, `{"version":`, h.Version)
	if h.SNI != "" {
		b = jsonKeyString(b, `,"sni":`, h.SNI)
	}
	if h.ECHOuterSNI {
		b = append(b, `,"ech_outer_sni":true`...)
	}
	if len(h.ALPN) > 0 {
		b = jsonStrings(append(b, `,"alpn":`...), h.ALPN)
	}
	b = jsonStrings(append(b, `,"cipher_suites":`...), h.CipherSuites)
	b = jsonStrings(append(b, `,"extensions":`...), h.Extensions)
	if len(h.SupportedVersions) > 0 {
		b = jsonStrings(append(b, `,"supported_versions":`...), h.SupportedVersions)
	}
	if len(h.Groups) > 0 {
		b = jsonStrings(append(b, `,"groups":`...), h.Groups)
	}
	if len(h.SignatureAlgorithms) > 0 {
		b = jsonStrings(append(b, `,"signature_algorithms":`...), h.SignatureAlgorithms)
	}
	if len(h.KeyShareGroups) > 0 {
		b = jsonStrings(append(b, `,"key_share_groups":`...), h.KeyShareGroups)
	}
	if h.SessionID != "" {
		b = jsonKeyString(b, `,"session_id":`, h.SessionID)
	}
	if h.SessionTicket != nil {
		b = jsonKeyInt(b, `,"session_ticket_length":`, int64(*h.SessionTicket))
	}
	if h.SSLv2Format {
		b = append(b, `,"sslv2_format":true`...)
	}
	b = jsonKeyString(b, `,"ja3":`, h.JA3)
	b = jsonKeyString(b, `,"ja3_full":`, h.JA3Full)
	b = jsonKeyString(b, `,"ja4":`, h.JA4)
	if len(h.SRTPProfiles) > 0 {
		b = jsonStrings(append(b, `,"srtp_profiles":`...), h.SRTPProfiles)
	}
	return append(b, '}')
}

func jsonServerHello(b []byte, h *ServerHello) []byte {
	b = jsonKeyString(b, `{"version":`, h.Version)
	b = jsonKeyString(b, `,"cipher_suite":`, h.CipherSuite)
	if h.ALPN != "" {
		b = jsonKeyString(b, `,"alpn":`, h.ALPN)
	}
	b = jsonStrings(append(b, `,"extensions":`...), h.Extensions)
	if h.SessionID != "" {
		b = jsonKeyString(b, `,"session_id":`, h.SessionID)
	}
	if h.KeyShareGroup != "" {
		b = jsonKeyString(b, `,"key_share_group":`, h.KeyShareGroup)
	}
	b = jsonKeyString(b, `,"ja3s":`, h.JA3S)
	b = jsonKeyString(b, `,"ja3s_full":`, h.JA3SFull)
	b = jsonKeyBool(b, `,"hello_retry_request":`, h.HelloRetryRequest)
	if h.SRTPProfile != "" {
		b = jsonKeyString(b, `,"srtp_profile":`, h.SRTPProfile)
	}
	return append(b, '}')
}

func jsonCertificates(b []byte, certs []Certificate) []byte {
	b = append(b, '[')
	for i := range certs {
		c := &certs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for _, f := range [...]struct{ key, v string }{
			{`"subject":`, c.Subject}, {`"issuer":`, c.Issuer}, {`"common_name":`, c.CommonName}, {`"serial":`, c.Serial},
			{`"not_before":`, c.NotBefore}, {`"not_after":`, c.NotAfter},
		} {
			if f.v != "" {
				b = jsonKeyString(jsonComma(b), f.key, f.v)
			}
		}
		if len(c.DNSNames) > 0 {
			b = jsonStrings(append(jsonComma(b), `"dns_names":`...), c.DNSNames)
		}
		if len(c.IPAddresses) > 0 {
			b = jsonStrings(append(jsonComma(b), `"ip_addresses":`...), c.IPAddresses)
		}
		if c.PublicKey != "" {
			b = jsonKeyString(jsonComma(b), `"public_key":`, c.PublicKey)
		}
		if c.SignatureAlgorithm != "" {
			b = jsonKeyString(jsonComma(b), `"signature_algorithm":`, c.SignatureAlgorithm)
		}
		b = jsonKeyString(jsonComma(b), `"sha256":`, c.SHA256)
		b = jsonKeyInt(b, `,"length":`, int64(c.Length))
		if c.IsCA {
			b = append(b, `,"is_ca":true`...)
		}
		if c.SelfSigned {
			b = append(b, `,"self_signed":true`...)
		}
		if c.Error != "" {
			b = jsonKeyString(b, `,"error":`, c.Error)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func jsonOCSP(b []byte, o *OCSP) []byte {
	b = jsonKeyBool(b, `{"requested":`, o.Requested)
	if o.Stapled != nil {
		b = jsonKeyBool(b, `,"stapled":`, *o.Stapled)
	}
	if o.Frame != 0 {
		b = jsonKeyInt(b, `,"frame":`, o.Frame)
	}
	if o.InCertificate {
		b = append(b, `,"in_certificate":true`...)
	}
	for _, f := range [...]struct{ key, v string }{
		{`,"status":`, o.Status}, {`,"serial":`, o.Serial}, {`,"this_update":`, o.ThisUpdate}, {`,"next_update":`, o.NextUpdate},
		{`,"produced_at":`, o.ProducedAt}, {`,"revoked_at":`, o.RevokedAt}, {`,"revocation_reason":`, o.RevocationReason},
		{`,"responder":`, o.Responder}, {`,"error":`, o.Error},
	} {
		if f.v != "" {
			b = jsonKeyString(b, f.key, f.v)
		}
	}
	return append(b, '}')
}

func jsonAlert(b []byte, a *Alert) []byte {
	b = jsonKeyString(b, `{"from":`, a.From)
	b = jsonKeyString(b, `,"level":`, a.Level)
	b = jsonKeyString(b, `,"description":`, a.Description)
	b = jsonKeyBool(b, `,"encrypted":`, a.Encrypted)
	if a.Probable {
		b = append(b, `,"probable":true`...)
	}
	if a.AfterData {
		b = append(b, `,"after_data":true`...)
	}
	if a.Reaction {
		b = append(b, `,"reaction":true`...)
	}
	return append(b, '}')
}

func jsonTCP(b []byte, t *TCP) ([]byte, error) {
	b = append(b, '{')
	if t.Midstream {
		b = append(b, `"midstream":true`...)
	}
	// [2]int with omitempty is still written: an array is empty only
	// when its length is 0.
	b = jsonInts(append(jsonComma(b), `"retransmissions":`...), t.Retransmissions[:])
	b = jsonInts(append(b, `,"zero_windows":`...), t.ZeroWindows[:])
	b = jsonInts(append(b, `,"bytes":`...), t.Bytes[:])
	b = jsonInts(append(b, `,"gap_bytes":`...), t.GapBytes[:])
	if t.LostBytes != nil {
		b = jsonInts(append(b, `,"lost_bytes":`...), t.LostBytes[:])
	}
	if t.OneSided != "" {
		b = jsonKeyString(b, `,"one_sided":`, t.OneSided)
	}
	if t.Truncated != 0 {
		b = jsonKeyInt(b, `,"truncated_packets":`, int64(t.Truncated))
	}
	if t.Vantage != nil {
		var err error
		if b, err = jsonReflect(append(b, `,"vantage":`...), t.Vantage); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func jsonDTLS(b []byte, d *DTLS) []byte {
	b = jsonInts(append(b, `{"datagrams":`...), d.Datagrams[:])
	b = jsonInts(append(b, `,"records":`...), d.Records[:])
	b = jsonInts(append(b, `,"largest_datagram":`...), d.Largest[:])
	if d.HelloVerifyRequests != 0 {
		b = jsonKeyInt(b, `,"hello_verify_requests":`, int64(d.HelloVerifyRequests))
	}
	if d.CookieReturned {
		b = append(b, `,"cookie_returned":true`...)
	}
	b = jsonKeyInt(b, `,"client_hello_resent":`, int64(d.ClientHelloResent))
	b = jsonKeyInt(b, `,"server_flight_resent":`, int64(d.ServerFlightResent))
	b = jsonInts(append(b, `,"duplicates":`...), d.Duplicates[:])
	b = jsonInts(append(b, `,"unified_records":`...), d.Unified[:])
	b = jsonInts(append(b, `,"cid_records":`...), d.CIDRecords[:])
	if l := d.FlightLost; l != nil {
		b = jsonKeyString(b, `,"flight_lost":{"from":`, l.From)
		if l.Message != "" {
			b = jsonKeyString(b, `,"message":`, l.Message)
		}
		if l.Have != 0 {
			b = jsonKeyInt(b, `,"have":`, int64(l.Have))
		}
		if l.Length != 0 {
			b = jsonKeyInt(b, `,"length":`, int64(l.Length))
		}
		b = jsonKeyInt(b, `,"sent":`, int64(l.Sent))
		if l.Largest != 0 {
			b = jsonKeyInt(b, `,"largest_datagram":`, int64(l.Largest))
		}
		b = jsonKeyBool(b, `,"path_mtu_blackhole":`, l.PathMTU)
		b = append(b, '}')
	}
	return append(b, '}')
}

func jsonQUIC(b []byte, q *QUIC) []byte {
	b = jsonKeyString(b, `{"version":`, q.Version)
	b = jsonKeyString(b, `,"dcid":`, q.DCID)
	b = jsonKeyString(b, `,"scid":`, q.SCID)
	if q.ServerSCID != "" {
		b = jsonKeyString(b, `,"server_scid":`, q.ServerSCID)
	}
	b = jsonKeyBool(b, `,"retry":`, q.Retry)
	if q.Retries != 0 {
		b = jsonKeyInt(b, `,"retries":`, int64(q.Retries))
	}
	if q.RetryValid != nil {
		b = jsonKeyBool(b, `,"retry_valid":`, *q.RetryValid)
	}
	if v := q.VersionNegotiation; v != nil {
		b = jsonKeyString(b, `,"version_negotiation":{"offered":`, v.Offered)
		b = jsonStrings(append(b, `,"supported":`...), v.Supported)
		b = append(b, '}')
	}
	if q.ErrorCode != "" {
		b = jsonKeyString(b, `,"error_code":`, q.ErrorCode)
	}
	if q.Error != "" {
		b = jsonKeyString(b, `,"error":`, q.Error)
	}
	if q.ErrorFrom != "" {
		b = jsonKeyString(b, `,"error_from":`, q.ErrorFrom)
	}
	if q.Application {
		b = append(b, `,"application_error":true`...)
	}
	if q.Reason != "" {
		b = jsonKeyString(b, `,"reason":`, q.Reason)
	}
	p := &q.Packets
	b = jsonInts(append(b, `,"packets":{"initial":`...), p.Initial[:])
	b = jsonInts(append(b, `,"handshake":`...), p.Handshake[:])
	if p.ZeroRTT != 0 {
		b = jsonKeyInt(b, `,"zero_rtt":`, int64(p.ZeroRTT))
	}
	b = jsonInts(append(b, `,"one_rtt":`...), p.OneRTT[:])
	b = append(b, '}')
	b = jsonKeyInt(b, `,"client_initials":`, int64(q.ClientInitials))
	if q.HelloPackets != 0 {
		b = jsonKeyInt(b, `,"client_hello_packets":`, int64(q.HelloPackets))
	}
	if q.HelloAcked != 0 {
		b = jsonKeyInt(b, `,"client_hello_packets_acked":`, int64(q.HelloAcked))
	}
	b = jsonInts(append(b, `,"unopened":`...), q.Unopened[:])
	b = jsonInts(append(b, `,"udp_streams":`...), q.UDPStreams)
	if q.ConnectionNumber != nil {
		b = jsonKeyInt(b, `,"connection_number":`, int64(*q.ConnectionNumber))
	}
	if q.Rebinds != 0 {
		b = jsonKeyInt(b, `,"rebinds":`, int64(q.Rebinds))
	}
	b = jsonKeyBool(b, `,"handshake_done":`, q.HandshakeDone)
	return append(b, '}')
}

func jsonMessage(b []byte, m *Message) ([]byte, error) {
	b, err := jsonKeyFloat(b, `{"t_ms":`, m.TMS)
	if err != nil {
		return b, err
	}
	if m.Frame != 0 {
		b = jsonKeyInt(b, `,"frame":`, m.Frame)
	}
	b = jsonKeyString(b, `,"from":`, m.From)
	b = jsonKeyString(b, `,"type":`, m.Type)
	b = jsonKeyInt(b, `,"length":`, int64(m.Length))
	if m.Encrypted {
		b = append(b, `,"encrypted":true`...)
	}
	if m.Undelivered {
		b = append(b, `,"undelivered":true`...)
	}
	if m.Note != "" {
		b = jsonKeyString(b, `,"note":`, m.Note)
	}
	return append(b, '}'), nil
}

// jsonReflect appends v as encoding/json writes it, for the rare facts.
func jsonReflect(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	return append(b, out...), err
}

// jsonComma appends the comma before a field unless it is the object's
// first.
func jsonComma(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '{' {
		return append(b, ',')
	}
	return b
}

func jsonKeyString(b []byte, key, s string) []byte {
	return jsonString(append(b, key...), s)
}

func jsonKeyInt(b []byte, key string, n int64) []byte {
	return strconv.AppendInt(append(b, key...), n, 10)
}

func jsonKeyBool(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(b, key...), v)
}

// jsonKeyFloat writes f as encoding/json does (ES6 number form).
func jsonKeyFloat(b []byte, key string, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errNotFinite
	}
	b = append(b, key...)
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 as e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// jsonInts writes a slice of integers; nil as null, as encoding/json.
func jsonInts[T int | int64](b []byte, s []T) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, n := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, ']')
}

// jsonStrings writes a slice of strings; nil as null, as encoding/json.
func jsonStrings(b []byte, s []string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonString(b, v)
	}
	return append(b, ']')
}

const jsonHex = "0123456789abcdef"

// jsonSafe: the ASCII bytes written as they are (encoding/json's
// htmlSafeSet).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// jsonString quotes s as encoding/json does by default: <, > and & as
// \u escapes (HTML-safe), invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped.
func jsonString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
