package flows

import (
	"crypto/x509"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// ChainCheck is one side's certificate chain judged by Options.Validator,
// with what the capture adds: a missing issuer that another connection
// sent.
type ChainCheck struct {
	*decoder.Validation
	// At is the time it was judged at: the Certificate message's packet.
	At time.Time
	// IssuerSentIn: the issuer this chain lacks was sent on that other
	// connection, earlier in the capture. A client that cached it would
	// accept the chain; the status stays what the chain as sent says.
	IssuerSentIn *StreamID
}

// CertCause is the certificate problem a failure is explained by: a
// certificate alert from the side that judged the chain, or its close
// right after the chain came, and a problem the validation found. It is
// decided once, with the verdict (certCause).
type CertCause struct {
	// Side is whose chain it is (the alert's receiver).
	Side    decoder.Side
	Problem decoder.CertProblem
	Check   *ChainCheck
}

// issuerIndex remembers the CA certificates connections sent, by subject,
// so that a chain lacking its issuer can say which connection sent it.
type issuerIndex struct {
	m     map[string]issuerSeen
	order []string
}

type issuerSeen struct {
	cert *decoder.Certificate
	id   StreamID
}

const issuerIndexSize = 4096

func (x *issuerIndex) note(chain []*decoder.Certificate, id StreamID) {
	for i, c := range chain {
		if i == 0 || i > 16 {
			continue // the leaf issues nothing; past 16 a chain is hostile
		}
		k := c.SubjectKey()
		if k == "" {
			continue
		}
		if x.m == nil {
			x.m = map[string]issuerSeen{}
		}
		if _, ok := x.m[k]; ok {
			continue
		}
		if len(x.order) >= issuerIndexSize {
			delete(x.m, x.order[0])
			x.order = x.order[1:]
		}
		x.m[k] = issuerSeen{c, id}
		x.order = append(x.order, k)
	}
}

// checkChains validates both sides' chains of r and remembers the CA
// certificates they carry for the connections judged after it.
func (a *Analyzer) checkChains(r *Result) {
	v := a.opts.Validator
	hs := r.HS
	if v == nil || hs == nil {
		return
	}
	name := ""
	if ch := hs.LatestClientHello(); ch != nil {
		name = ch.ServerName
	}
	r.ServerChain = a.checkChain(r, hs.ServerCertificates, decoder.Server, name, x509.ExtKeyUsageServerAuth)
	r.ClientChain = a.checkChain(r, hs.ClientCertificates, decoder.Client, "", x509.ExtKeyUsageClientAuth)
	a.issuers.note(hs.ServerCertificates, r.ID())
	a.issuers.note(hs.ClientCertificates, r.ID())
}

func (a *Analyzer) checkChain(r *Result, chain []*decoder.Certificate, side decoder.Side, name string, usage x509.ExtKeyUsage) *ChainCheck {
	if len(chain) == 0 {
		return nil
	}
	at := r.Start
	if m := r.HS.First(side, decoder.MsgCertificate, decoder.MsgCompressedCertificate); m != nil && !m.Time.IsZero() {
		at = m.Time
	}
	val := a.opts.Validator.Validate(chain, name, usage, at)
	if val == nil {
		return nil
	}
	c := &ChainCheck{Validation: val, At: at}
	if side == decoder.Server {
		c.Validation = revoked(c.Validation, r.HS.OCSP, chain[0])
		val = c.Validation
	}
	if k := val.MissingIssuerKey(); k != "" {
		if seen, ok := a.issuers.m[k]; ok && seen.id != r.ID() && val.IssuedTop(seen.cert) {
			id := seen.id
			c.IssuerSentIn = &id
			if val.Status == decoder.StatusUntrustedRoot && val.Problems[0].Index == -1 && !seen.cert.SelfSigned {
				// The missing issuer is a CA certificate another server
				// sent, not a root: an intermediate this one left out.
				x := *val
				x.Problems = slices.Clone(val.Problems)
				x.Problems[0].Status, x.Status = decoder.StatusMissingIntermediate, decoder.StatusMissingIntermediate
				x.LeafIssuerMissing = true // what is missing is an intermediate
				c.Validation = &x
			}
		}
	}
	return c
}

// certAlerts are the alerts by which a side refuses its peer's
// certificate (RFC 8446 §6.2): bad_certificate, unsupported_certificate,
// certificate_expired, certificate_unknown, unknown_ca; and OpenSSL's
// decrypt_error for a signature that fails. Each names the problems it
// is preferably explained by.
var certAlerts = map[uint8][]string{
	42: nil,
	// bad_certificate_status_response (RFC 6066 §8): the staple refused.
	113: {CauseStapleStale, CauseStapleMissing},
	43:  {decoder.StatusWrongUsage},
	45:  {decoder.StatusExpired, decoder.StatusNotYetValid},
	46:  nil,
	44:  {decoder.StatusRevoked},
	48:  {decoder.StatusMissingIntermediate, decoder.StatusUntrustedRoot, decoder.StatusSelfSigned},
	// decrypt_error: OpenSSL's alert for a certificate whose signature
	// does not verify (X509_V_ERR_CERT_SIGNATURE_FAILURE); otherwise a
	// failed CertificateVerify or Finished (RFC 8446 §6.2), no fault of a
	// chain: a cause only when a signature of the chain failed.
	alertDecryptError: {decoder.StatusBadSignature},
}

const alertDecryptError = 51

// revoked is val with the leaf revoked when the server's own stapled OCSP
// response says so (for the leaf's serial): the status is then revoked,
// its first problem, whatever else the chain has. The shared validation is
// copied, never changed.
func revoked(val *decoder.Validation, staple *decoder.OCSPStaple, leaf *decoder.Certificate) *decoder.Validation {
	if staple == nil || staple.OCSPResponse == nil || staple.Status != "revoked" || staple.Serial != "" && leaf.Serial != "" && staple.Serial != leaf.Serial {
		return val
	}
	x := *val
	detail := "is revoked (its stapled OCSP response says so"
	if !staple.RevokedAt.IsZero() {
		detail += ", since " + staple.RevokedAt.UTC().Format("2006-01-02")
	}
	if staple.RevocationReason != "" {
		detail += ", " + staple.RevocationReason
	}
	p := leafProblem(leaf)
	p.Status, p.Detail, p.When = decoder.StatusRevoked, detail+")", staple.RevokedAt
	x.Problems = append([]decoder.CertProblem{p}, val.Problems...)
	x.Status = decoder.StatusRevoked
	return &x
}

// certCause finds the certificate problem that explains r's failure:
// the refusing side's certificate alert, or its close right after its
// peer's Certificate, and a problem of the peer's chain. The problem the
// alert names is preferred; else the validation's status.
func certCause(r *Result) *CertCause {
	var judge decoder.Side
	var want []string
	signatureOnly := false // the alert explains no other problem
	switch {
	case r.Outcome == Failed && r.Alert != nil && !r.Alert.Encrypted:
		w, ok := certAlerts[r.Alert.Description]
		if !ok {
			return nil
		}
		judge, want = r.Alert.From, w
		signatureOnly = r.Alert.Description == alertDecryptError
	case (r.Outcome == Closed || r.Outcome == Reset) && (r.Reason.Kind == ReasonGaveUp || r.Reason.Kind == ReasonClosedInstead) && r.Reason.Side == decoder.Client:
		// The client closed right after the server's Certificate: it sent
		// nothing after it.
		m := r.HS.First(decoder.Server, decoder.MsgCertificate, decoder.MsgCompressedCertificate)
		if m == nil {
			return nil
		}
		for _, x := range r.HS.Messages {
			if x.From == decoder.Client && x.Time.After(m.Time) && !x.Undelivered {
				return nil
			}
		}
		judge = decoder.Client
	default:
		return nil
	}
	check := r.ServerChain
	if judge == decoder.Server {
		check = r.ClientChain
	}
	if check == nil {
		return nil
	}
	if signatureOnly && check.Problem(decoder.StatusBadSignature) == nil {
		return nil
	}
	if len(check.Problems) == 0 {
		// A chain without fault: the server's staple may be what was
		// refused (a client that checks it, as gnutls-cli does).
		if p, ok := stapleProblem(r.HS, judge); ok {
			return &CertCause{Side: judge.Other(), Problem: p, Check: check}
		}
		return nil
	}
	p := check.Problems[0]
	for _, s := range want {
		if q := check.Problem(s); q != nil {
			p = *q
			break
		}
	}
	return &CertCause{Side: judge.Other(), Problem: p, Check: check}
}

// leafProblem is a problem of the leaf (index 0), named by its CN, else
// its subject, as the validation names the certificates it judges.
func leafProblem(leaf *decoder.Certificate) decoder.CertProblem {
	p := decoder.CertProblem{Index: 0, Subject: leaf.Subject, Name: leaf.CommonName}
	if p.Name == "" {
		p.Name = leaf.Subject
	}
	return p
}

// Causes that are no status of the chain: the server's stapled OCSP
// response (RFC 6066 §8, RFC 7633).
const (
	CauseStapleStale   = "stale_staple"   // its nextUpdate had passed
	CauseStapleMissing = "missing_staple" // a must-staple leaf came without one
)

// stapleProblem is what was wrong with the server's staple, judged by
// the client: stale when it came, or missing for a must-staple leaf the
// client asked a staple for.
func stapleProblem(hs *decoder.Handshake, judge decoder.Side) (decoder.CertProblem, bool) {
	if judge != decoder.Client || len(hs.ServerCertificates) == 0 {
		return decoder.CertProblem{}, false
	}
	leaf := hs.ServerCertificates[0]
	p := leafProblem(leaf)
	st := hs.OCSP
	switch {
	case st != nil && st.Stale():
		p.Status, p.When = CauseStapleStale, st.NextUpdate
		return p, true
	case leaf.MustStaple && hs.StapleMissing():
		p.Status = CauseStapleMissing
		return p, true
	}
	return decoder.CertProblem{}, false
}

// explain attaches the certificate cause to r's reason, with the frame of
// the Certificate message it rests on.
func explain(r *Result, ev *evidence) {
	c := certCause(r)
	if c == nil {
		return
	}
	r.Reason.Cause = c
	if m := r.HS.First(c.Side, decoder.MsgCertificate, decoder.MsgCompressedCertificate); m != nil {
		ev.add(m.Frame)
	}
}
