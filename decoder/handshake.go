package decoder

import (
	"slices"
	"time"
)

// Side is one end of a connection.
type Side uint8

const (
	Client Side = 0
	Server Side = 1
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Other returns the peer.
func (s Side) Other() Side { return 1 - s }

// Dir numbers the two byte streams of a connection as the caller does:
// Dir 0 is the side it took for the client. The decoder decides once, at
// the first hello, which Dir is the client (Conn.ClientDir) when the
// caller did not know.
type Dir uint8

// roles says which Dir is the client's (a Conn's, a DTLSConn's), and so
// the role of each Dir.
type roles struct{ clientDir Dir }

func (r *roles) role(d Dir) Side {
	if d == r.clientDir {
		return Client
	}
	return Server
}

func (r *roles) dirOf(s Side) Dir {
	if s == Client {
		return r.clientDir
	}
	return 1 - r.clientDir
}

// ClientDir is the Dir of the client, as the caller knew it or as the
// first hello showed.
func (r *roles) ClientDir() Dir { return r.clientDir }

// Message is one entry of the handshake ladder.
type Message struct {
	Time      time.Time
	From      Side
	Type      MsgType
	Length    int
	Encrypted bool
	// Flight: a run of protected records holding, by their place in the
	// handshake, the server's TLS 1.3 flight (EncryptedExtensions to
	// Finished), read without keys.
	Flight bool
	// Undelivered: sent after bytes its peer never received, so never
	// delivered to it (TCP delivers in order): listed, not judged.
	Undelivered bool
	Offset      int64 // stream offset of the record that carried its first byte
	End         int64 // stream offset just past its last record
	Frame       int64 // Wireshark frame.number where it is shown (Pos.Frame); 0: not known
	Note        string
}

// Problem is something in the bytes that could not be decoded as TLS.
type Problem struct {
	Time  time.Time
	Frame int64 // of the packet that showed it (0: not known)
	From  Side
	Kind  ProblemKind
	Err   string
}

// Handshake is everything visible of one connection's TLS handshake.
type Handshake struct {
	ClientHello *ClientHello
	// RetryClientHello is the second ClientHello: after a HelloRetryRequest,
	// or a new one after a QUIC Retry (Machine.TransportRetry).
	RetryClientHello  *ClientHello
	HelloRetryRequest *ServerHello
	// HelloVerifyRequest is a DTLS server's cookie challenge (RFC 6347
	// §4.2.1): the ClientHello that answers it is RetryClientHello.
	HelloVerifyRequest *HelloVerifyRequest
	ServerHello        *ServerHello
	// UndeliveredServerHello is a ServerHello its client never received
	// (sent after a reset, or after bytes lost in the network): evidence,
	// not part of the handshake.
	UndeliveredServerHello *ServerHello
	// EncryptedExtensions: TLS 1.3, read with keys (the chosen ALPN).
	EncryptedExtensions *EncryptedExtensions
	// Decryption says what keys did for this connection.
	Decryption         *Decryption
	ServerCertificates []*Certificate
	ClientCertificates []*Certificate
	ServerKeyExchange  *ServerKeyExchange
	SessionTickets     []NewSessionTicket
	Alerts             []Alert
	Messages           []Message
	Problems           []Problem
	// Preamble counts plaintext bytes before TLS per side (STARTTLS, CONNECT).
	Preamble [2]int64
	// Bytes counts TLS record bytes per side.
	Bytes [2]int64
	// NotTLSAnswer is the start of what the server sent after the
	// ClientHello when it was not TLS (an HTTP error page, a banner).
	NotTLSAnswer string
	NotTLSFrame  int64 // the frame it came in
	// MessagesDropped counts ladder entries beyond maxMessages.
	MessagesDropped int32
	// Finished says, by side, what a decrypted TLS 1.2 Finished's
	// verify_data said against the transcript.
	Finished             [2]FinishedCheck
	CertificateRequested bool
	OCSPStapled          bool
	// OCSP is the response the server stapled (nil: none read).
	OCSP *OCSPStaple
	// Midstream: the capture began after the connection had started.
	Midstream bool
	// Renegotiations: handshakes run again in the established TLS 1.2 (or
	// earlier) connection, read with keys.
	Renegotiations []Renegotiation
}

// Renegotiation is a handshake run again inside an established TLS 1.2
// (or earlier) connection, protected by the first one's keys (RFC 5246
// §7.4.1.1, RFC 5746): who asked, where, and how it ended. It leaves the
// first handshake as it was.
type Renegotiation struct {
	// By: the server (HelloRequest) or the client (a ClientHello unasked).
	By    Side
	Time  time.Time
	Frame int64
	// Outcome: completed (both Finished), refused (an alert answered it),
	// or unfinished in the capture.
	Outcome RenegotiationOutcome
	// Alert is the first alert that refused it.
	Alert *Alert
	// ClientRandom is its ClientHello's random, by which the key log gives
	// its keys (nil before that ClientHello).
	ClientRandom []byte
}

// RenegotiationOutcome is how a renegotiation ended.
type RenegotiationOutcome string

const (
	RenegotiationCompleted  RenegotiationOutcome = "completed"
	RenegotiationRefused    RenegotiationOutcome = "refused"
	RenegotiationUnfinished RenegotiationOutcome = "unfinished"
)

// Version is the negotiated protocol version, or 0 before a ServerHello.
func (h *Handshake) Version() uint16 {
	if h.ServerHello != nil {
		if h.ServerHello.SSLv2 {
			return VersionSSL20
		}
		return h.ServerHello.NegotiatedVersion()
	}
	return 0
}

// LatestClientHello is the ClientHello the handshake went on with: the
// second after a HelloRetryRequest or a QUIC Retry, else the first. Its
// random finds the keys: after a HelloRetryRequest it is the first's
// (RFC 8446 §4.1.2), after a Retry a client may have made a new one.
func (h *Handshake) LatestClientHello() *ClientHello {
	if h.RetryClientHello != nil {
		return h.RetryClientHello
	}
	return h.ClientHello
}

// First is the first message in the ladder from side of one of the types
// (nil if none).
func (h *Handshake) First(from Side, types ...MsgType) *Message {
	for i := range h.Messages {
		m := &h.Messages[i]
		if m.From != from {
			continue
		}
		for _, t := range types {
			if m.Type == t {
				return m
			}
		}
	}
	return nil
}

// clone copies what the decoder goes on writing: the lists it appends to.
// Hellos, certificates and tickets are never written after they are
// stored, so the copy shares them.
func (h *Handshake) clone() *Handshake {
	x := *h
	x.ServerCertificates = slices.Clip(h.ServerCertificates)
	x.ClientCertificates = slices.Clip(h.ClientCertificates)
	x.SessionTickets = slices.Clone(h.SessionTickets)
	x.Alerts = slices.Clone(h.Alerts)
	x.Messages = slices.Clone(h.Messages)
	x.Problems = slices.Clone(h.Problems)
	x.Renegotiations = slices.Clone(h.Renegotiations)
	return &x
}
