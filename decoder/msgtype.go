package decoder

import "strconv"

// MsgType names an entry of the handshake ladder, and the message a side
// owes: a handshake message (its wire type, 0–255: RFC 8446 §4, RFC 5246
// §7.4), or something that is not a handshake message, numbered above 255.
type MsgType uint16

// Handshake messages, as typed on the wire.
const (
	MsgHelloRequest          = MsgType(typeHelloRequest)
	MsgClientHello           = MsgType(typeClientHello)
	MsgServerHello           = MsgType(typeServerHello)
	MsgHelloVerifyRequest    = MsgType(typeHelloVerifyRequest)
	MsgNewSessionTicket      = MsgType(typeNewSessionTicket)
	MsgEndOfEarlyData        = MsgType(typeEndOfEarlyData)
	MsgEncryptedExtensions   = MsgType(typeEncryptedExtensions)
	MsgCertificate           = MsgType(typeCertificate)
	MsgServerKeyExchange     = MsgType(typeServerKeyExchange)
	MsgCertificateRequest    = MsgType(typeCertificateRequest)
	MsgServerHelloDone       = MsgType(typeServerHelloDone)
	MsgCertificateVerify     = MsgType(typeCertificateVerify)
	MsgClientKeyExchange     = MsgType(typeClientKeyExchange)
	MsgFinished              = MsgType(typeFinished)
	MsgCertificateStatus     = MsgType(typeCertificateStatus)
	MsgKeyUpdate             = MsgType(typeKeyUpdate)
	MsgCompressedCertificate = MsgType(typeCompressedCert)
)

// Ladder entries that are not handshake messages.
const (
	// MsgHelloRetryRequest is a ServerHello carrying the special random of
	// RFC 8446 §4.1.3.
	MsgHelloRetryRequest MsgType = 256 + iota
	MsgChangeCipherSpec
	MsgAlert
	MsgApplicationData
	MsgHeartbeat
	// MsgEncryptedHandshake is a protected handshake record that could not
	// be opened: its messages are unknown.
	MsgEncryptedHandshake
	// SSL 2.0 (draft-hickman-netscape-ssl-00).
	MsgClientMasterKey
	MsgServerVerify
	MsgSSLv2Error
	// MsgEncryptedRecord is a protected record whose content is unknown
	// and whose place says nothing of it yet.
	MsgEncryptedRecord
)

var msgTypeNames = map[MsgType]string{
	MsgHelloRetryRequest: "HelloRetryRequest", MsgChangeCipherSpec: "ChangeCipherSpec", MsgAlert: "Alert",
	MsgApplicationData: "ApplicationData", MsgHeartbeat: "Heartbeat", MsgEncryptedHandshake: "EncryptedHandshake",
	MsgClientMasterKey: "ClientMasterKey", MsgServerVerify: "ServerVerify", MsgSSLv2Error: "Error", MsgEncryptedRecord: "EncryptedRecord",
}

// IsHandshake reports whether t is a handshake message type.
func (t MsgType) IsHandshake() bool { return t < 256 }

func (t MsgType) String() string {
	if t < 256 {
		return HandshakeTypeName(uint8(t))
	}
	if n, ok := msgTypeNames[t]; ok {
		return n
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// Epoch is the key epoch a handshake message or record was protected
// under (RFC 8446 §7.1, RFC 9001 §4): what the keys of a key log open.
// QUIC carries each epoch's CRYPTO data in its own packet number space.
type Epoch uint8

const (
	// EpochPlaintext: no protection (TLS before ChangeCipherSpec or the
	// TLS 1.3 ServerHello; QUIC Initial packets).
	EpochPlaintext Epoch = iota
	// EpochEarlyData: 0-RTT, client_early_traffic_secret.
	EpochEarlyData
	// EpochHandshake: TLS 1.3 handshake traffic secrets.
	EpochHandshake
	// EpochApplication: TLS 1.3 application traffic secrets, and the keys
	// TLS 1.2 and earlier switch to at ChangeCipherSpec.
	EpochApplication
)

var epochNames = [...]string{"plaintext", "early_data", "handshake", "application"}

func (e Epoch) String() string {
	if int(e) < len(epochNames) {
		return epochNames[e]
	}
	return "epoch(" + strconv.Itoa(int(e)) + ")"
}

// ProblemKind classifies what could not be decoded.
type ProblemKind uint8

const (
	// ProblemCaptureGap: bytes missing from the capture.
	ProblemCaptureGap ProblemKind = iota + 1
	// ProblemNotTLS: the stream is not TLS.
	ProblemNotTLS
	// ProblemLostSync: record boundaries lost inside protected records.
	ProblemLostSync
	// ProblemUnknownRecord: a record of a content type not defined.
	ProblemUnknownRecord
	// ProblemOversize: a record or message beyond the caps.
	ProblemOversize
	// ProblemMalformed: a message that does not parse.
	ProblemMalformed
	// ProblemUnexpected: a message where the protocol has none.
	ProblemUnexpected
	// ProblemBudget: decoding stopped, the budget for buffered handshake
	// bytes being spent.
	ProblemBudget
)

var problemKindNames = [...]string{"", "capture_gap", "not_tls", "lost_sync", "unknown_record", "oversize", "malformed", "unexpected", "budget"}

func (k ProblemKind) String() string {
	if int(k) < len(problemKindNames) {
		return problemKindNames[k]
	}
	return "problem(" + strconv.Itoa(int(k)) + ")"
}
