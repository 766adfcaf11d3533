package report

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// ECSVersion is the Elastic Common Schema version the ECS documents
// follow (field names and types checked against its generated
// fields.csv; the list is in ecs_fields.tsv).
const ECSVersion = "8.11.0"

// ECSWriter writes connections as Elastic Common Schema documents, one
// JSON object per line, as they come. What ECS has no field for is under
// tlsscope.*.
type ECSWriter struct {
	w    io.Writer
	buf  bytes.Buffer
	enc  *json.Encoder
	file string
}

// newECSWriter is the "ecs" format of the registry.
func newECSWriter(w io.Writer, opts Options) Writer {
	ew := &ECSWriter{w: w}
	ew.enc = json.NewEncoder(&ew.buf)
	if !opts.Live && len(opts.Inputs) == 1 {
		ew.file = opts.Inputs[0] // with several, each connection says its own (Connection.File)
	}
	return ew
}

// Write writes one connection as one line.
func (ew *ECSWriter) Write(c *Connection) error {
	ew.buf.Reset()
	file := ew.file
	if c.File != "" {
		file = c.File
	}
	if err := ew.enc.Encode(ecsDocument(c, file)); err != nil {
		return err
	}
	_, err := ew.w.Write(escapeBidi(ew.buf.Bytes()))
	return err
}

// Close does nothing: every line is written as it comes.
func (ew *ECSWriter) Close() error { return nil }

type ecsDoc struct {
	Timestamp   string       `json:"@timestamp"`
	ECS         ecsVersion   `json:"ecs"`
	Event       ecsEvent     `json:"event"`
	Client      *ecsEndpoint `json:"client,omitempty"`
	Server      *ecsEndpoint `json:"server,omitempty"`
	Source      *ecsEndpoint `json:"source,omitempty"`
	Destination *ecsEndpoint `json:"destination,omitempty"`
	Network     ecsNetwork   `json:"network"`
	TLS         *ecsTLS      `json:"tls,omitempty"`
	TLSScope    ecsTLSScope  `json:"tlsscope"`
}

type ecsVersion struct {
	Version string `json:"version"`
}

type ecsEvent struct {
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Outcome  string   `json:"outcome"`
	Dataset  string   `json:"dataset"`
	Start    string   `json:"start"`
	End      string   `json:"end,omitempty"`
	Duration *int64   `json:"duration,omitempty"`
}

type ecsEndpoint struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

type ecsNetwork struct {
	Transport   string `json:"transport"`
	Protocol    string `json:"protocol"`
	Type        string `json:"type,omitempty"`
	IANANumber  string `json:"iana_number,omitempty"`
	CommunityID string `json:"community_id,omitempty"`
}

type ecsTLS struct {
	Version         string        `json:"version,omitempty"`
	VersionProtocol string        `json:"version_protocol,omitempty"`
	Cipher          string        `json:"cipher,omitempty"`
	Curve           string        `json:"curve,omitempty"`
	Established     bool          `json:"established"`
	Resumed         bool          `json:"resumed"`
	NextProtocol    string        `json:"next_protocol,omitempty"`
	Client          *ecsTLSClient `json:"client,omitempty"`
	Server          *ecsTLSServer `json:"server,omitempty"`
}

// ecsTLSPeer is what tls.client and tls.server share: the leaf
// certificate a side sent.
type ecsTLSPeer struct {
	Subject   string   `json:"subject,omitempty"`
	Issuer    string   `json:"issuer,omitempty"`
	NotBefore string   `json:"not_before,omitempty"`
	NotAfter  string   `json:"not_after,omitempty"`
	Hash      *ecsHash `json:"hash,omitempty"`
	X509      *ecsX509 `json:"x509,omitempty"`
}

type ecsTLSClient struct {
	ServerName       string   `json:"server_name,omitempty"`
	JA3              string   `json:"ja3,omitempty"`
	SupportedCiphers []string `json:"supported_ciphers,omitempty"`
	ecsTLSPeer
}

type ecsTLSServer struct {
	JA3S string `json:"ja3s,omitempty"`
	ecsTLSPeer
}

type ecsHash struct {
	SHA256 string `json:"sha256"`
}

type ecsX509 struct {
	AlternativeNames   []string `json:"alternative_names,omitempty"`
	Subject            *ecsName `json:"subject,omitempty"`
	Issuer             *ecsName `json:"issuer,omitempty"`
	NotBefore          string   `json:"not_before,omitempty"`
	NotAfter           string   `json:"not_after,omitempty"`
	SerialNumber       string   `json:"serial_number,omitempty"`
	PublicKeyAlgorithm string   `json:"public_key_algorithm,omitempty"`
	PublicKeyCurve     string   `json:"public_key_curve,omitempty"`
	PublicKeySize      int      `json:"public_key_size,omitempty"`
	SignatureAlgorithm string   `json:"signature_algorithm,omitempty"`
}

type ecsName struct {
	CommonName        []string `json:"common_name,omitempty"`
	Organization      []string `json:"organization,omitempty"`
	DistinguishedName string   `json:"distinguished_name,omitempty"`
}

type ecsTLSScope struct {
	Stream     int            `json:"stream"`
	Outcome    string         `json:"outcome"`
	Verdict    string         `json:"verdict"`
	Open       bool           `json:"open,omitempty"`
	Update     bool           `json:"update,omitempty"`
	Resumption string         `json:"resumption,omitempty"`
	Version    string         `json:"version,omitempty"`
	EndedBy    string         `json:"ended_by,omitempty"`
	ClosedBy   string         `json:"closed_by,omitempty"`
	JA4        string         `json:"ja4,omitempty"`
	Stall      *Stall         `json:"stall,omitempty"`
	Decryption *ecsDecryption `json:"decryption,omitempty"`
	Alerts     []Alert        `json:"alerts,omitempty"`
	Findings   []Finding      `json:"findings,omitempty"`
	File       string         `json:"file,omitempty"`
}

type ecsDecryption struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ecsDocument maps a connection onto ECS. The strings are the
// connection's own (raw from the capture; JSON escapes them).
func ecsDocument(c *Connection, file string) *ecsDoc {
	r := c.Result()
	d := &ecsDoc{
		Timestamp: c.Start,
		ECS:       ecsVersion{ECSVersion},
		Event: ecsEvent{
			Kind: "event", Category: []string{"network"}, Type: []string{"connection", "protocol"},
			Outcome: ecsOutcome(c), Dataset: "tlsscope.connection", Start: c.Start,
		},
		TLSScope: ecsTLSScope{
			Stream: c.Stream, Outcome: c.Outcome, Verdict: c.Verdict, Open: c.Open, Update: c.Update,
			Resumption: c.Resumption, EndedBy: c.EndedBy, ClosedBy: c.ClosedBy, Stall: c.Stall, Alerts: c.Alerts, Findings: c.Findings,
			File: file,
		},
	}
	if !c.Open {
		d.Event.Type = append(d.Event.Type, "end") // written when the connection ended
	}
	if r != nil && !r.End.IsZero() {
		d.Event.End = r.End.UTC().Format(time.RFC3339Nano)
		if dur := r.End.Sub(r.Start); dur >= 0 {
			n := int64(dur)
			d.Event.Duration = &n
		}
	} else if r == nil && c.DurationMS >= 0 {
		n := int64(c.DurationMS * 1e6)
		d.Event.Duration = &n
	}
	d.Network = ecsNetwork{Transport: "tcp", Protocol: "tls", IANANumber: "6"}
	switch c.transport {
	case flows.TransportQUIC:
		d.Network = ecsNetwork{Transport: "udp", Protocol: "quic", IANANumber: "17"}
	case flows.TransportDTLS:
		d.Network = ecsNetwork{Transport: "udp", Protocol: "dtls", IANANumber: "17"}
	}
	if ip, err := netip.ParseAddr(c.ClientIP); err == nil && c.ServerIP != "" {
		d.Client = &ecsEndpoint{IP: c.ClientIP, Port: uint16(c.ClientPort)}
		d.Server = &ecsEndpoint{IP: c.ServerIP, Port: uint16(c.ServerPort)}
		d.Source, d.Destination = d.Client, d.Server
		d.Network.Type = "ipv6"
		if ip.Is4() {
			d.Network.Type = "ipv4"
		}
		d.Network.CommunityID = c.CommunityID
	}
	if c.tcpOnly {
		return d // no TLS byte: a TCP attempt
	}
	t := &ecsTLS{Established: c.Established, Resumed: c.Resumed}
	if c.Version != "" {
		t.Version, t.VersionProtocol = ecsTLSVersion(c.Version)
		if t.Version == "" {
			d.TLSScope.Version = c.Version // a draft or an unknown number
		}
	}
	if ch := c.ClientHello; ch != nil {
		t.Client = &ecsTLSClient{ServerName: ch.SNI, JA3: ch.JA3, SupportedCiphers: ch.CipherSuites}
		d.TLSScope.JA4 = ch.JA4
	}
	if sh := c.ServerHello; sh != nil {
		t.Cipher, t.NextProtocol, t.Curve = sh.CipherSuite, sh.ALPN, sh.KeyShareGroup
		t.Server = &ecsTLSServer{JA3S: sh.JA3S}
	}
	if kx := c.ServerKeyExchange; kx != nil && t.Curve == "" {
		t.Curve = kx.Group // TLS 1.2's ECDHE group
	}
	var serverCerts, clientCerts []*decoder.Certificate
	if r != nil && r.HS != nil {
		serverCerts, clientCerts = r.HS.ServerCertificates, r.HS.ClientCertificates
	}
	if p := ecsPeer(c.Certificates, serverCerts); p != nil {
		if t.Server == nil {
			t.Server = &ecsTLSServer{}
		}
		t.Server.ecsTLSPeer = *p
	}
	if p := ecsPeer(c.ClientCertificates, clientCerts); p != nil {
		if t.Client == nil {
			t.Client = &ecsTLSClient{}
		}
		t.Client.ecsTLSPeer = *p
	}
	d.TLS = t
	if x := c.Decryption; x != nil {
		d.TLSScope.Decryption = &ecsDecryption{Status: x.Status, Reason: x.Reason}
	}
	return d
}

// ecsOutcome: success for a handshake that completed or resumed,
// unknown where the capture cannot say (it ended first, it began after
// the handshake, the connection is still open), failure otherwise.
func ecsOutcome(c *Connection) string {
	switch h := flows.Outcome(c.Outcome).Health(); {
	case h == flows.Healthy:
		return "success"
	case h == flows.Unverified || h == flows.Undecided || c.Open:
		return "unknown"
	}
	return "failure"
}

// ecsTLSVersion splits "TLS 1.3" into ECS's "1.3" and "tls", "SSL 3.0"
// into "3.0" and "ssl"; other names (drafts, unknown numbers) give "".
func ecsTLSVersion(name string) (version, protocol string) {
	switch name {
	case "SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3":
		p, v, _ := strings.Cut(name, " ")
		return v, strings.ToLower(p)
	}
	return "", ""
}

// ecsPeer describes a chain's leaf, or is nil without one. decoded is
// the decoder's chain behind certs, for the key's algorithm and size.
func ecsPeer(certs []Certificate, decoded []*decoder.Certificate) *ecsTLSPeer {
	if len(certs) == 0 {
		return nil
	}
	leaf := certs[0]
	p := &ecsTLSPeer{Subject: leaf.Subject, Issuer: leaf.Issuer, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}
	if leaf.SHA256 != "" {
		p.Hash = &ecsHash{SHA256: strings.ToUpper(leaf.SHA256)} // ECS: hashes in uppercase
	}
	x := &ecsX509{NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, SignatureAlgorithm: leaf.SignatureAlgorithm,
		SerialNumber: strings.ToUpper(leaf.Serial)}
	x.AlternativeNames = append(append(x.AlternativeNames, leaf.DNSNames...), leaf.IPAddresses...)
	if leaf.Subject != "" || leaf.CommonName != "" {
		cn, org := dnValues(leaf.Subject)
		if leaf.CommonName != "" {
			cn = []string{leaf.CommonName}
		}
		x.Subject = &ecsName{CommonName: cn, Organization: org, DistinguishedName: leaf.Subject}
	}
	if leaf.Issuer != "" {
		cn, org := dnValues(leaf.Issuer)
		x.Issuer = &ecsName{CommonName: cn, Organization: org, DistinguishedName: leaf.Issuer}
	}
	if len(decoded) > 0 && decoded[0].SHA256 == leaf.SHA256 {
		k := decoded[0]
		if k.PublicKeyAlgorithm != "" && k.PublicKeyAlgorithm != "unknown" {
			x.PublicKeyAlgorithm = k.PublicKeyAlgorithm
		}
		x.PublicKeySize = k.PublicKeyBits
	}
	if curve, ok := strings.CutPrefix(leaf.PublicKey, "ECDSA P-"); ok {
		x.PublicKeyCurve = "nistp" + curve // ECS's spelling: nistp256
	}
	if x.Subject != nil || x.Issuer != nil || x.SerialNumber != "" || x.NotAfter != "" || x.PublicKeyAlgorithm != "" || len(x.AlternativeNames) > 0 {
		p.X509 = x // not for a leaf that did not parse: only its hash
	}
	return p
}

// dnValues reads the common names and organizations of a distinguished
// name as the decoder prints it (RFC 4514: "CN=a,O=b\, c", a backslash
// before the special characters).
func dnValues(dn string) (cn, org []string) {
	var attr strings.Builder
	flush := func() {
		k, v, ok := strings.Cut(attr.String(), "=")
		attr.Reset()
		if !ok {
			return
		}
		switch k {
		case "CN":
			cn = append(cn, unescapeDN(v))
		case "O":
			org = append(org, unescapeDN(v))
		}
	}
	for i := 0; i < len(dn); i++ {
		switch ch := dn[i]; {
		case ch == '\\' && i+1 < len(dn):
			attr.WriteByte(ch)
			attr.WriteByte(dn[i+1])
			i++
		case ch == ',' || ch == '+':
			flush()
		default:
			attr.WriteByte(ch)
		}
	}
	flush()
	return cn, org
}

func unescapeDN(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
