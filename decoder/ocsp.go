package decoder

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/ocsp"
)

// OCSPStaple is an OCSP response the server stapled to its certificate
// (RFC 6066 §8): in a CertificateStatus message (TLS 1.2 and earlier,
// handshake type 22) or, in TLS 1.3, in the status_request extension of
// the first CertificateEntry (RFC 8446 §4.4.2.1), read only with keys.
type OCSPStaple struct {
	Frame int64
	Time  time.Time
	// InCertificate: carried in TLS 1.3's CertificateEntry.
	InCertificate bool
	Length        int // bytes of the DER OCSPResponse
	*OCSPResponse
}

// OCSPResponse is what an analyst needs from a DER OCSPResponse (RFC
// 6960 §4.2). Its signature is checked only against a responder
// certificate the response carries, never against the leaf's issuer: the
// status is what the response says, not proof that its issuer said it.
type OCSPResponse struct {
	// Status is good, revoked or unknown (RFC 6960 §2.2); "" when the
	// response is not "successful" or could not be read (Error says why).
	Status           string
	Serial           string // the certificate it is about, hex as Certificate.Serial
	ThisUpdate       time.Time
	NextUpdate       time.Time // zero: the responder gave none (RFC 6960 §4.2.2.1)
	ProducedAt       time.Time
	RevokedAt        time.Time
	RevocationReason string
	Responder        string // the responder's name, or "key SHA-1 <hex>"
	Error            string
}

// The status_type of a CertificateStatus (RFC 6066 §8).
const statusTypeOCSP = 1

// readCertificateStatus reads a CertificateStatus body (after the type
// byte and length of a handshake message, or an extension's data):
// status_type, then a uint24-prefixed OCSPResponse.
func readCertificateStatus(body []byte) (der []byte, ok bool) {
	s := cryptobyte.String(body)
	var typ uint8
	var resp cryptobyte.String
	if !s.ReadUint8(&typ) || typ != statusTypeOCSP || !s.ReadUint24LengthPrefixed(&resp) || len(resp) == 0 || !s.Empty() {
		return nil, false
	}
	return resp, true
}

// ocspCache keeps recently parsed responses by hash: a server staples the
// same response on every connection until it fetches the next.
var ocspCache = newFIFOCache[[32]byte, *OCSPResponse](1024)

// ParseOCSPResponse summarises one DER OCSPResponse. The result is shared
// between callers and must not be modified.
func ParseOCSPResponse(der []byte) *OCSPResponse {
	sum := sha256.Sum256(der)
	if r, ok := ocspCache.get(sum); ok {
		return r
	}
	r := parseOCSPResponse(der)
	ocspCache.add(sum, r)
	return r
}

func parseOCSPResponse(der []byte) *OCSPResponse {
	r := &OCSPResponse{}
	resp, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			// tryLater, internalError, …: a response, but no status.
			r.Error = "response status " + re.Status.String()
		} else {
			r.Error = err.Error()
		}
		return r
	}
	switch resp.Status {
	case ocsp.Good:
		r.Status = "good"
	case ocsp.Revoked:
		r.Status = "revoked"
		r.RevokedAt = resp.RevokedAt.UTC()
		r.RevocationReason = revocationReason(resp.RevocationReason)
	default:
		r.Status = "unknown"
	}
	if resp.SerialNumber != nil {
		r.Serial = hex.EncodeToString(resp.SerialNumber.Bytes())
		if r.Serial == "" {
			r.Serial = "00"
		}
	}
	r.ThisUpdate, r.NextUpdate, r.ProducedAt = resp.ThisUpdate.UTC(), resp.NextUpdate.UTC(), resp.ProducedAt.UTC()
	r.Responder = responderName(resp)
	return r
}

// responderName is the ResponderID (RFC 6960 §4.2.1): by name, else by
// the SHA-1 of its key.
func responderName(resp *ocsp.Response) string {
	if len(resp.RawResponderName) > 0 {
		if s, _ := subjectAndIssuer(resp.RawResponderName, nil); s != "" {
			return s
		}
	}
	if len(resp.ResponderKeyHash) > 0 {
		return "key SHA-1 " + hex.EncodeToString(resp.ResponderKeyHash)
	}
	return ""
}

// revocationReason names a CRLReason (RFC 5280 §5.3.1).
func revocationReason(n int) string {
	names := []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}
	if n >= 0 && n < len(names) && names[n] != "" {
		return names[n]
	}
	return fmt.Sprintf("reason %d", n)
}

// oidTLSFeature is the TLS Feature extension (RFC 7633 §6).
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// mustStaple: the certificate's TLS Feature extension lists
// status_request (5): its server must staple (RFC 7633 §4.2.3).
func mustStaple(x *x509.Certificate) bool {
	for _, e := range x.Extensions {
		if !e.Id.Equal(oidTLSFeature) {
			continue
		}
		var features []int
		if rest, err := asn1.Unmarshal(e.Value, &features); err != nil || len(rest) > 0 {
			return false
		}
		for _, f := range features {
			if f == int(extStatusRequest) {
				return true
			}
		}
	}
	return false
}

// staple records a staple the server sent in der, unless one is already
// recorded (the first is the handshake's).
func (m *Machine) staple(der []byte, inCertificate bool, ladder *Message) {
	m.HS.OCSPStapled = true
	if m.HS.OCSP != nil {
		return
	}
	st := &OCSPStaple{Frame: ladder.Frame, Time: ladder.Time, InCertificate: inCertificate, Length: len(der), OCSPResponse: ParseOCSPResponse(der)}
	m.HS.OCSP = st
	note := "OCSP " + st.Status
	if st.Status == "" {
		note = "OCSP unreadable"
	}
	if ladder.Note != "" {
		note = ladder.Note + ", " + note
	}
	ladder.Note = note
}

// Stale reports whether the response's nextUpdate had passed when the
// packet that carried it was captured (RFC 6960 §4.2.2.1).
func (s *OCSPStaple) Stale() bool {
	return s.OCSPResponse != nil && !s.NextUpdate.IsZero() && s.Time.After(s.NextUpdate)
}

// StapleMissing reports whether the client asked for a staple
// (status_request) and the capture shows the server sent none.
func (h *Handshake) StapleMissing() bool {
	ch := h.LatestClientHello()
	return h.OCSP == nil && ch != nil && ch.StatusRequest && !h.OCSPStapled && h.StapleKnown()
}

// StapleKnown says whether the capture shows if the server stapled a
// response: a staple was read, or the server's Certificate was read and
// the point where a staple would be is past (TLS 1.2: a later message of
// its flight; TLS 1.3: the staple rides in the Certificate itself).
// Unknown in TLS 1.3 without keys and in a resumption (no Certificate).
func (h *Handshake) StapleKnown() bool {
	if h.OCSP != nil || h.OCSPStapled {
		return true
	}
	if len(h.ServerCertificates) == 0 {
		return false
	}
	if isTLS13(h.Version()) {
		return true
	}
	return h.First(Server, MsgServerKeyExchange, MsgCertificateRequest, MsgServerHelloDone) != nil
}
