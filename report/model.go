// Package report turns judged connections into tables, JSON Lines,
// Markdown and CSV.
package report

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// Connection is one JSON Lines object: the stable contract documented in
// the README and in schema/connection.schema.json. Absent facts are
// omitted, never invented.
type Connection struct {
	Stream       int     `json:"stream"`
	Transport    string  `json:"transport"`
	Client       string  `json:"client"`
	Server       string  `json:"server"`
	ClientIP     string  `json:"client_ip"`
	ClientPort   int     `json:"client_port"`
	ServerIP     string  `json:"server_ip"`
	ServerPort   int     `json:"server_port"`
	CommunityID  string  `json:"community_id"`
	File         string  `json:"file,omitempty"`
	Start        string  `json:"start"`
	DurationMS   float64 `json:"duration_ms"`
	Outcome      string  `json:"outcome"`
	Verdict      string  `json:"verdict"`
	Reason       string  `json:"reason"`
	ReasonSide   string  `json:"reason_side,omitempty"`
	ReasonFrames []int64 `json:"reason_frames,omitempty"`
	Established  bool    `json:"established"`
	Resumed      bool    `json:"resumed"`
	Open         bool    `json:"open,omitempty"`
	Update       bool    `json:"update,omitempty"`
	// Beside the flags above, in the same word: a flood makes millions.
	transport            flows.Transport // for the Wireshark display filter
	tcpOnly              bool            // a TCP attempt that never reached TLS
	Resumption           string          `json:"resumption,omitempty"`
	Version              string          `json:"version,omitempty"`
	ClientHello          *ClientHello    `json:"client_hello,omitempty"`
	ServerHello          *ServerHello    `json:"server_hello,omitempty"`
	Certificates         []Certificate   `json:"certificates,omitempty"`
	ClientCertificates   []Certificate   `json:"client_certificates,omitempty"`
	Validation           *Validation     `json:"validation,omitempty"`
	ClientValidation     *Validation     `json:"client_validation,omitempty"`
	ServerKeyExchange    *KeyExchange    `json:"server_key_exchange,omitempty"`
	CertificateRequested *bool           `json:"certificate_requested,omitempty"`
	SessionTicket        *SessionTicket  `json:"session_ticket,omitempty"`
	OCSP                 *OCSP           `json:"ocsp,omitempty"`
	Alerts               []Alert         `json:"alerts,omitempty"`
	Stall                *Stall          `json:"stall,omitempty"`
	Decryption           *Decryption     `json:"decryption,omitempty"`
	EndedBy              string          `json:"ended_by"`
	ClosedBy             string          `json:"closed_by,omitempty"`
	Timing               *Timing         `json:"timing,omitempty"`
	TCP                  TCP             `json:"tcp,omitzero"`
	QUIC                 *QUIC           `json:"quic,omitempty"`
	DTLS                 *DTLS           `json:"dtls,omitempty"`
	Fallback             *Fallback       `json:"fallback,omitempty"`
	Messages             []Message       `json:"messages,omitempty"`
	Findings             []Finding       `json:"findings,omitempty"`
	// AttachmentStream is the connection's stream in the capture
	// --write-failed wrote, which Wireshark numbers anew (nil: not in it).
	AttachmentStream *flows.StreamID `json:"-"`

	result *flows.Result
	ladder []string  // the ladder, kept by Summarize
	seq    *sequence // the Mermaid ladder, kept by Summarize
}

type ClientHello struct {
	Version             string   `json:"version"`
	SNI                 string   `json:"sni,omitempty"`
	ECHOuterSNI         bool     `json:"ech_outer_sni,omitempty"`
	ALPN                []string `json:"alpn,omitempty"`
	CipherSuites        []string `json:"cipher_suites"`
	Extensions          []string `json:"extensions"`
	SupportedVersions   []string `json:"supported_versions,omitempty"`
	Groups              []string `json:"groups,omitempty"`
	SignatureAlgorithms []string `json:"signature_algorithms,omitempty"`
	KeyShareGroups      []string `json:"key_share_groups,omitempty"`
	SessionID           string   `json:"session_id,omitempty"`
	SessionTicket       *int     `json:"session_ticket_length,omitempty"`
	SSLv2Format         bool     `json:"sslv2_format,omitempty"`
	JA3                 string   `json:"ja3"`
	JA3Full             string   `json:"ja3_full"`
	JA4                 string   `json:"ja4"`
	// SRTPProfiles: the DTLS-SRTP protection profiles offered (use_srtp,
	// RFC 5764 §4.1.1: WebRTC).
	SRTPProfiles []string `json:"srtp_profiles,omitempty"`
}

type ServerHello struct {
	Version           string   `json:"version"`
	CipherSuite       string   `json:"cipher_suite"`
	ALPN              string   `json:"alpn,omitempty"`
	Extensions        []string `json:"extensions"`
	SessionID         string   `json:"session_id,omitempty"`
	KeyShareGroup     string   `json:"key_share_group,omitempty"`
	JA3S              string   `json:"ja3s"`
	JA3SFull          string   `json:"ja3s_full"`
	HelloRetryRequest bool     `json:"hello_retry_request"`
	// SRTPProfile: the DTLS-SRTP protection profile chosen.
	SRTPProfile string `json:"srtp_profile,omitempty"`
}

type Certificate struct {
	Subject            string   `json:"subject,omitempty"`
	Issuer             string   `json:"issuer,omitempty"`
	CommonName         string   `json:"common_name,omitempty"`
	Serial             string   `json:"serial,omitempty"`
	NotBefore          string   `json:"not_before,omitempty"`
	NotAfter           string   `json:"not_after,omitempty"`
	DNSNames           []string `json:"dns_names,omitempty"`
	IPAddresses        []string `json:"ip_addresses,omitempty"`
	PublicKey          string   `json:"public_key,omitempty"`
	SignatureAlgorithm string   `json:"signature_algorithm,omitempty"`
	SHA256             string   `json:"sha256"`
	Length             int      `json:"length"`
	IsCA               bool     `json:"is_ca,omitempty"`
	SelfSigned         bool     `json:"self_signed,omitempty"`
	Error              string   `json:"error,omitempty"`
}

// Validation is one side's chain judged as a client (server) holding the
// trust store's roots would judge it, at the time of its Certificate
// message.
type Validation struct {
	Status string `json:"status"`
	// Index and Subject: the certificate the status concerns; index -1
	// is one not sent (the missing issuer, or the store's root).
	Index      int      `json:"index"`
	Subject    string   `json:"subject"`
	Chain      []string `json:"chain"`
	TrustStore string   `json:"trust_store"`
	At         string   `json:"at"`
	// Name is the name checked (the SNI); name_checked false: the client
	// sent none, so no name was checked.
	Name        string              `json:"name,omitempty"`
	NameChecked bool                `json:"name_checked"`
	Usage       string              `json:"usage"`
	Error       string              `json:"error,omitempty"`
	Problems    []ValidationProblem `json:"problems,omitempty"`
	IssuerURLs  []string            `json:"issuer_urls,omitempty"`
	// IssuerSentIn: the missing issuer was sent on that other connection.
	IssuerSentIn string `json:"issuer_sent_in,omitempty"`
	NotValidated int    `json:"not_validated,omitempty"`
	Note         string `json:"note,omitempty"`
	// SCTs counts Signed Certificate Timestamps (server side), which are
	// not verified.
	SCTs *SCTs `json:"scts,omitempty"`
}

type ValidationProblem struct {
	Status  string `json:"status"`
	Index   int    `json:"index"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// SCTs are counted, never verified (verified is always false).
type SCTs struct {
	Embedded     int  `json:"embedded"`
	TLSExtension int  `json:"tls_extension"`
	Verified     bool `json:"verified"`
}

// validation converts a judged chain; strings from the capture are kept
// raw here and escaped by the writers.
func validation(c *flows.ChainCheck) *Validation {
	if c == nil || c.Validation == nil {
		return nil
	}
	v := c.Validation
	out := &Validation{Status: v.Status, Index: v.Index, Subject: v.Subject, Chain: v.Chain, TrustStore: v.Store,
		At: c.At.UTC().Format(time.RFC3339Nano), Name: v.Name, NameChecked: v.NameChecked, Usage: v.Usage, Error: v.Error,
		IssuerURLs: v.IssuerURLs, NotValidated: v.NotValidated, Note: v.Note}
	if out.Chain == nil {
		out.Chain = []string{}
	}
	for _, p := range v.Problems {
		out.Problems = append(out.Problems, ValidationProblem{Status: p.Status, Index: p.Index, Subject: p.Subject, Detail: p.Detail})
	}
	if c.IssuerSentIn != nil {
		out.IssuerSentIn = c.IssuerSentIn.String()
	}
	return out
}

// KeyExchange is what a TLS 1.2 ServerKeyExchange says in the clear.
type KeyExchange struct {
	Group           string `json:"group,omitempty"`
	DHBits          int    `json:"dh_bits,omitempty"`
	SignatureScheme string `json:"signature_scheme,omitempty"`
}

type SessionTicket struct {
	LifetimeS    uint32 `json:"lifetime_s"`
	TicketLength int    `json:"ticket_length"`
}

type Alert struct {
	From        string `json:"from"`
	Level       string `json:"level"`
	Description string `json:"description"`
	Encrypted   bool   `json:"encrypted"`
	Probable    bool   `json:"probable,omitempty"`
	AfterData   bool   `json:"after_data,omitempty"`
	Reaction    bool   `json:"reaction,omitempty"`
}

// Decryption says what the keys did (decoder.Decryption).
type Decryption struct {
	Status   string     `json:"status"`
	Reason   string     `json:"reason"`
	Records  *[2]int    `json:"records,omitempty"`  // opened, [client, server]
	Unopened *[2]int    `json:"unopened,omitempty"` // protected records left closed
	Unread   []string   `json:"unread,omitempty"`   // epochs left unreadable, for partial
	Finished *[2]string `json:"finished,omitempty"` // TLS 1.2 verify_data: verified, mismatch, unchecked
}

type Stall struct {
	WaitingFor string   `json:"waiting_for"`
	Next       string   `json:"next"`
	SilentMS   float64  `json:"silent_ms"`
	After      string   `json:"after,omitempty"`
	Sending    *Sending `json:"sending,omitempty"`
}

// Sending is the message (or record) the owing side was in the middle of.
type Sending struct {
	Type     string `json:"type"`
	Length   int    `json:"length"`
	Received int    `json:"received"`
}

type Timing struct {
	TCPRTTMS    *float64 `json:"tcp_rtt_ms,omitempty"`
	HelloRTTMS  *float64 `json:"hello_rtt_ms,omitempty"`
	HandshakeMS *float64 `json:"handshake_ms,omitempty"`
}

type TCP struct {
	present         bool      // a TCP connection's: written even when all zero
	Midstream       bool      `json:"midstream,omitempty"`
	Retransmissions [2]int    `json:"retransmissions"`
	ZeroWindows     [2]int    `json:"zero_windows,omitempty"`
	Bytes           [2]int64  `json:"bytes"`
	GapBytes        [2]int64  `json:"gap_bytes,omitempty"`
	LostBytes       *[2]int64 `json:"lost_bytes,omitempty"`
	OneSided        string    `json:"one_sided,omitempty"`
	Truncated       int       `json:"truncated_packets,omitempty"`
	Vantage         *Vantage  `json:"vantage,omitempty"`
}

// Vantage is what two capture points (inputs, numbered from 1 in the
// order given) tell of a connection seen at both.
type Vantage struct {
	Copies      int           `json:"copies"`
	ClientInput int           `json:"client_input,omitempty"` // the input nearer the client
	ServerInput int           `json:"server_input,omitempty"`
	Lost        []VantageLoss `json:"lost,omitempty"`
}

// VantageLoss is what one side sent that passed the point near it and
// never reached the other.
type VantageLoss struct {
	From         string  `json:"from"`
	Packets      int     `json:"packets"`
	Bytes        int64   `json:"bytes"`
	Input        int     `json:"input"`
	Frames       []int64 `json:"frames"`
	MissingInput int     `json:"missing_input"`
	LaterFrame   int64   `json:"later_frame,omitempty"`
	MissingFrame int64   `json:"missing_frame,omitempty"`
}

// IsZero: no TCP facts (a QUIC connection), for omitzero.
func (t TCP) IsZero() bool { return !t.present }

type Message struct {
	TMS       float64 `json:"t_ms"`
	Frame     int64   `json:"frame,omitempty"` // Wireshark's frame.number that shows it (its record's last segment); 0: not known
	From      string  `json:"from"`
	Type      string  `json:"type"`
	Length    int     `json:"length"`
	Encrypted bool    `json:"encrypted,omitempty"`
	// Undelivered: sent after bytes lost in the network, never received.
	Undelivered bool   `json:"undelivered,omitempty"`
	Note        string `json:"note,omitempty"`
}

// transportProto is the IP protocol number of a transport, for the
// Community ID.
func transportProto(t flows.Transport) uint8 {
	if t.OverUDP() {
		return 17 // UDP
	}
	return 6 // TCP
}

// Result returns the flows result behind the connection.
func (c *Connection) Result() *flows.Result { return c.result }

// Summarize drops what the table and the Markdown summary do not show, so
// that a report held until the end of a large capture keeps a few hundred
// bytes per connection instead of its whole handshake (about 20 KB, with
// the flows result behind it). keepLadder keeps the message ladder, as
// text, which Markdown shows for the connections that did not complete.
func (c *Connection) Summarize(keepLadder bool) {
	if keepLadder {
		c.ladder, c.seq = Ladder(c), sequenceOf(c)
	}
	c.Messages, c.result = nil, nil
	if ch := c.ClientHello; ch != nil {
		c.ClientHello = &ClientHello{SNI: ch.SNI, ALPN: ch.ALPN}
	}
	if sh := c.ServerHello; sh != nil {
		c.ServerHello = &ServerHello{CipherSuite: sh.CipherSuite, ALPN: sh.ALPN}
	}
	if len(c.Certificates) > 0 {
		leaf := c.Certificates[0]
		c.Certificates = []Certificate{{CommonName: leaf.CommonName, DNSNames: leaf.DNSNames[:min(1, len(leaf.DNSNames))], NotAfter: leaf.NotAfter, Error: leaf.Error}}
	}
	// The alerts and the timing stay: the summary counts them by server.
	c.ClientCertificates, c.ServerKeyExchange, c.SessionTicket = nil, nil, nil
	if v := c.Validation; v != nil {
		c.Validation = &Validation{Status: v.Status, Index: v.Index, Subject: v.Subject}
	}
	c.ClientValidation = nil
}

func addr(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String() // IPv6 as [addr]:port
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// msp is a duration for an optional field; a negative one (clocks that
// jump in damaged captures) is not a fact and is left out.
func msp(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	v := ms(d)
	return &v
}

func names(vs []uint16, name func(uint16) string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, name(v))
	}
	return out
}

func extNames(exts []decoder.Extension) []string {
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		out = append(out, decoder.ExtensionName(e.Type))
	}
	return out
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return fmt.Sprintf("%x", b)
}

// certificates converts a chain; strings from the capture are kept raw
// here (JSON escapes them) and made safe where printed.
func certificates(cs []*decoder.Certificate) []Certificate {
	var out []Certificate
	for _, c := range cs {
		x := Certificate{Subject: c.Subject, Issuer: c.Issuer, CommonName: c.CommonName, Serial: c.Serial,
			DNSNames: c.DNSNames, IPAddresses: c.IPAddresses, PublicKey: c.PublicKey,
			SignatureAlgorithm: c.SignatureAlgorithm, SHA256: c.SHA256, Length: c.Length,
			IsCA: c.IsCA, SelfSigned: c.SelfSigned, Error: c.Error}
		if !c.NotBefore.IsZero() || !c.NotAfter.IsZero() {
			x.NotBefore = c.NotBefore.Format(time.RFC3339)
			x.NotAfter = c.NotAfter.Format(time.RFC3339)
		}
		out = append(out, x)
	}
	return out
}

// Build turns a judged connection into its report form, with the
// findings of the policies asked for (none: the default checks only).
func Build(r *flows.Result, policies ...Policy) *Connection {
	hs := r.HS
	c := &Connection{
		Stream: r.Stream, Transport: r.Transport.String(), Client: addr(r.Client), Server: addr(r.Server),
		Start: r.Start.UTC().Format(time.RFC3339Nano), DurationMS: ms(r.End.Sub(r.Start)),
		Outcome: string(r.Outcome), Resumption: r.Resumption, EndedBy: r.EndedBy.String(), result: r,
		Open: r.Open, Update: r.Update, transport: r.Transport, tcpOnly: r.TCPOnly(),
		ClientIP: r.Client.Addr().String(), ClientPort: int(r.Client.Port()),
		ServerIP: r.Server.Addr().String(), ServerPort: int(r.Server.Port()),
		CommunityID: CommunityID(r.Client, r.Server, transportProto(r.Transport), 0),
		Established: r.Outcome.Established(),
		Resumed:     r.Outcome == flows.Resumed,
	}
	if r.ClosedBy != nil {
		c.ClosedBy = r.ClosedBy.String()
	}
	if v := hs.Version(); v != 0 {
		c.Version = decoder.VersionName(v)
	}
	if ch := hs.ClientHello; ch != nil {
		full, hash := ch.JA3()
		x := &ClientHello{
			Version: decoder.VersionName(ch.Version), SNI: ch.ServerName, ECHOuterSNI: ch.ECH && ch.ServerName != "",
			ALPN: ch.ALPN, CipherSuites: names(ch.CipherSuites, decoder.CipherSuiteName), Extensions: extNames(ch.Extensions),
			SupportedVersions: names(ch.SupportedVersions, decoder.VersionName), Groups: names(ch.SupportedGroups, decoder.GroupName),
			SignatureAlgorithms: names(ch.SignatureAlgorithms, decoder.SignatureSchemeName),
			SessionID:           hexOrEmpty(ch.SessionID), SSLv2Format: ch.SSLv2,
			JA3: hash, JA3Full: full, JA4: ch.JA4Over(ja4Transport(r.Transport)),
		}
		if ch.SSLv2 {
			x.SessionID = ""
		}
		for _, ks := range ch.KeyShares {
			x.KeyShareGroups = append(x.KeyShareGroups, decoder.GroupName(ks.Group))
		}
		x.SRTPProfiles = srtpNames(ch.SRTPProfiles)
		if ch.SessionTicketOffered {
			n := ch.SessionTicketLen
			x.SessionTicket = &n
		}
		c.ClientHello = x
	}
	sh := hs.ServerHello
	if sh == nil && hs.HelloRetryRequest != nil {
		sh = hs.HelloRetryRequest
	}
	if sh != nil && !sh.SSLv2 {
		full, hash := sh.JA3S()
		x := &ServerHello{
			Version: decoder.VersionName(sh.Version), CipherSuite: decoder.CipherSuiteName(sh.CipherSuite), ALPN: sh.ALPN,
			Extensions: extNames(sh.Extensions), SessionID: hexOrEmpty(sh.SessionID),
			JA3S: hash, JA3SFull: full, HelloRetryRequest: hs.HelloRetryRequest != nil,
		}
		if sh.KeyShareGroup != 0 {
			x.KeyShareGroup = decoder.GroupName(sh.KeyShareGroup)
		}
		if sh.SRTPProfile != 0 {
			x.SRTPProfile = decoder.SRTPProfileName(sh.SRTPProfile)
		}
		if ee := hs.EncryptedExtensions; ee != nil && x.ALPN == "" {
			x.ALPN = ee.ALPN // TLS 1.3: chosen in EncryptedExtensions, read with keys
		}
		c.ServerHello = x
	}
	if d := hs.Decryption; d != nil && !r.TCPOnly() {
		c.Decryption = &Decryption{Status: string(d.Status), Reason: d.Reason, Records: &[2]int{d.Opened[0], d.Opened[1]},
			Unopened: &[2]int{d.Unopened[0], d.Unopened[1]}, Unread: d.Unread}
		if d.Opened[0]+d.Opened[1] == 0 {
			c.Decryption.Records, c.Decryption.Unopened = nil, nil
		}
		for side, f := range hs.Finished {
			if f != decoder.FinishedUnchecked {
				if c.Decryption.Finished == nil {
					c.Decryption.Finished = &[2]string{"unchecked", "unchecked"}
				}
				c.Decryption.Finished[side] = f.String()
			}
		}
	}
	c.Certificates = certificates(hs.ServerCertificates)
	c.ClientCertificates = certificates(hs.ClientCertificates)
	c.Validation, c.ClientValidation = validation(r.ServerChain), validation(r.ClientChain)
	if c.Validation != nil {
		sct := &SCTs{}
		if len(hs.ServerCertificates) > 0 {
			sct.Embedded = hs.ServerCertificates[0].SCTs
		}
		if hs.ServerHello != nil {
			sct.TLSExtension = hs.ServerHello.SCTs
		}
		c.Validation.SCTs = sct
	}
	c.OCSP = buildOCSP(hs)
	if ske := hs.ServerKeyExchange; ske != nil {
		kx := &KeyExchange{DHBits: ske.DHBits}
		if ske.Group != 0 {
			kx.Group = decoder.GroupName(ske.Group)
		}
		if ske.SignatureScheme != 0 {
			kx.SignatureScheme = decoder.SignatureSchemeName(ske.SignatureScheme)
		}
		c.ServerKeyExchange = kx
	}
	if hs.ServerHello != nil {
		req := hs.CertificateRequested
		c.CertificateRequested = &req
	}
	if n := len(hs.SessionTickets); n > 0 {
		t := hs.SessionTickets[n-1]
		c.SessionTicket = &SessionTicket{LifetimeS: t.LifetimeHint, TicketLength: t.TicketLength}
	}
	for _, a := range hs.Alerts {
		c.Alerts = append(c.Alerts, Alert{From: a.From.String(), Level: a.LevelName(), Description: a.DescriptionName(),
			Encrypted: a.Encrypted, Probable: a.Probable, AfterData: a.AfterData, Reaction: a.Reaction})
	}
	if s := r.Stall; s != nil {
		c.Stall = &Stall{WaitingFor: s.Waiting.String(), Next: s.Next.String(), SilentMS: ms(s.Silent), After: silentAfter(r)}
		if s.SendingLen > 0 {
			c.Stall.Sending = &Sending{Type: s.Sending.String(), Length: s.SendingLen, Received: s.SendingHave}
		}
	}
	c.Timing = timing(r)
	if f := r.TCP; f != nil {
		cl, sv := &f.Side[decoder.Client], &f.Side[decoder.Server]
		c.TCP = TCP{present: true, Midstream: r.Midstream, Retransmissions: [2]int{cl.Retransmissions, sv.Retransmissions},
			ZeroWindows: [2]int{cl.ZeroWindows, sv.ZeroWindows}, Bytes: [2]int64{cl.Bytes, sv.Bytes},
			GapBytes: [2]int64{cl.GapBytes, sv.GapBytes}, Truncated: f.Truncated}
		if p := f.PathOf(); p.Side[decoder.Client].Loss.LostBytes+p.Side[decoder.Server].Loss.LostBytes > 0 {
			c.TCP.LostBytes = &[2]int64{p.Side[decoder.Client].Loss.LostBytes, p.Side[decoder.Server].Loss.LostBytes}
		}
		if r.OneSided {
			c.TCP.OneSided = r.Missing.String()
		}
		if v := f.Vantage; v != nil {
			c.TCP.Vantage = &Vantage{Copies: v.Copies, ClientInput: v.Near[decoder.Client] + 1, ServerInput: v.Near[decoder.Server] + 1}
			for _, side := range []decoder.Side{decoder.Client, decoder.Server} {
				if l := v.Lost[side]; l.Packets > 0 {
					c.TCP.Vantage.Lost = append(c.TCP.Vantage.Lost, VantageLoss{From: side.String(), Packets: l.Packets, Bytes: l.Bytes, Input: v.Near[side] + 1,
						Frames: l.Frames, MissingInput: v.Far[side] + 1, LaterFrame: l.LaterNear, MissingFrame: l.LaterFar})
				}
			}
		}
	}
	for _, m := range hs.Messages {
		c.Messages = append(c.Messages, Message{TMS: ms(m.Time.Sub(r.Start)), Frame: m.Frame, From: m.From.String(), Type: m.Type.String(),
			Length: m.Length, Encrypted: m.Encrypted, Undelivered: m.Undelivered, Note: m.Note})
	}
	if r.QUIC != nil {
		c.QUIC = buildQUIC(r.QUIC)
	}
	if r.DTLS != nil {
		c.DTLS = buildDTLS(r)
	}
	if fb := r.Fallback; fb != nil {
		c.Fallback = &Fallback{Transport: fb.Transport.String(), Stream: fb.Stream}
	}
	c.Findings = findings(r, c, policies)
	c.Verdict = verdictWords(r)
	c.Reason, c.ReasonFrames = r.Reason.Kind.String(), r.Reason.Frames
	if r.Reason.Kind.Sided() {
		c.ReasonSide = r.Reason.Side.String()
	}
	return c
}

// ja4Transport is JA4's first letter: q for QUIC, d for DTLS, t for TCP.
func ja4Transport(t flows.Transport) byte {
	switch t {
	case flows.TransportQUIC:
		return 'q'
	case flows.TransportDTLS:
		return 'd'
	}
	return 't'
}

func timing(r *flows.Result) *Timing {
	t := &Timing{}
	if r.TCP != nil && !r.TCP.SYN.IsZero() && !r.TCP.SYNACK.IsZero() {
		t.TCPRTTMS = msp(r.TCP.SYNACK.Sub(r.TCP.SYN))
	}
	ch := r.HS.First(decoder.Client, decoder.MsgClientHello)
	sh := r.HS.First(decoder.Server, decoder.MsgServerHello, decoder.MsgHelloRetryRequest)
	if ch != nil && sh != nil {
		t.HelloRTTMS = msp(sh.Time.Sub(ch.Time))
	}
	if ch != nil && !r.CompleteAt.IsZero() {
		t.HandshakeMS = msp(r.CompleteAt.Sub(ch.Time))
	}
	if t.TCPRTTMS == nil && t.HelloRTTMS == nil && t.HandshakeMS == nil {
		return nil
	}
	return t
}

// size says a byte count as people read it.
func size(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

func seconds(d time.Duration) string {
	// Without fmt: a flood makes millions of these.
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	if d >= 2*time.Minute {
		return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// silentAfter names what the owing side was silent after: the last
// message delivered, "its ServerHello" when it sent that itself.
func silentAfter(r *flows.Result) string {
	s := r.Stall
	if s == nil {
		return ""
	}
	if r.TCPOnly() {
		if s.Next.SYNACK {
			return "SYN"
		}
		return "SYN-ACK"
	}
	msgs := r.HS.Messages
	ct := r.CloseAt()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Undelivered || !ct.IsZero() && m.Time.After(ct) || m.Type == decoder.MsgChangeCipherSpec && r.HS.Version() == decoder.VersionTLS13 {
			continue // TLS 1.3's ChangeCipherSpec is for middleboxes (RFC 8446 §D.4)
		}
		name := m.Type.String()
		if m.Flight {
			name = "encrypted flight"
		}
		switch {
		case m.From == s.Waiting:
			return "its " + name
		case m.Flight:
			return "the " + m.From.String() + "'s " + name
		}
		return name
	}
	if q := r.QUIC; q != nil && q.VersionNegotiation != nil {
		return "the server's Version Negotiation"
	}
	return "connection start"
}

// owedWords is the owed message, said with what of it came.
func owedWords(r *flows.Result) string {
	s := r.Stall
	if s.Next.SYNACK {
		return "a SYN-ACK"
	}
	return s.Next.String()
}

// sendingWords says the message or record the owing side had begun:
// "a 4.6 KiB record of its encrypted flight, 1.2 KiB of it sent".
func sendingWords(s *flows.Stall) string {
	what := s.Sending.String()
	if s.Sending == decoder.MsgEncryptedHandshake {
		what = "record of its encrypted flight"
	}
	w := "a " + size(s.SendingLen) + " " + what
	if s.SendingHave > 0 {
		w += ", " + size(s.SendingHave) + " of it sent"
	}
	return w
}

// lossOf says, for a handshake stalled on side's message, that the
// network lost it: bytes of side's that the peer never acknowledged.
func lossOf(r *flows.Result, side decoder.Side) string {
	if f := r.DTLS; f != nil && f.FlightLost != nil {
		return dtlsLossWords(r, f.FlightLost)
	}
	if f := r.QUIC; f != nil && side == decoder.Client && f.HelloAcked > 0 {
		return fmt.Sprintf("only %d of its %d Initial packets acknowledged (the rest lost in the network)", f.HelloAcked, f.HelloPackets)
	}
	if r.TCP == nil {
		return ""
	}
	l := &r.TCP.PathOf().Side[side].Loss
	switch {
	case l.LostBytes > 0 && l.DeliveredAfter > 0:
		return fmt.Sprintf("%s lost in the network, only later segments arrived", size(int(l.LostBytes)))
	case l.LostBytes > 0:
		return size(int(l.LostBytes)) + " lost in the network"
	case l.Unacked > 0:
		return fmt.Sprintf("sent %d times and never acknowledged (lost in the network)", l.UnackedSends)
	}
	return ""
}

// notTLSAnswer is the first line of a server's answer that was not TLS,
// safe to print, or "".
func notTLSAnswer(hs *decoder.Handshake) string {
	b := hs.NotTLSAnswer
	if b == "" {
		return ""
	}
	if i := strings.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return `"` + Safe(b[:min(len(b), 48)]) + `"`
}

// lastBefore names the last message delivered by t (any, when t is zero).
func lastBefore(hs *decoder.Handshake, t time.Time) string {
	for i := len(hs.Messages) - 1; i >= 0; i-- {
		if m := hs.Messages[i]; !m.Undelivered && (t.IsZero() || !m.Time.After(t)) {
			return m.Type.String()
		}
	}
	return ""
}
