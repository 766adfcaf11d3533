package report

import (
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// OCSP is what the connection shows of stapled OCSP (RFC 6066 §8, RFC
// 8446 §4.4.2.1): whether the client asked, whether the server stapled,
// and what the response says. Its signature is not checked against the
// leaf's issuer.
type OCSP struct {
	Requested bool `json:"requested"`
	// Stapled is absent when the capture cannot tell (TLS 1.3 without
	// keys, a resumption, a handshake that ended before).
	Stapled          *bool  `json:"stapled,omitempty"`
	Frame            int64  `json:"frame,omitempty"`
	InCertificate    bool   `json:"in_certificate,omitempty"`
	Status           string `json:"status,omitempty"`
	Serial           string `json:"serial,omitempty"`
	ThisUpdate       string `json:"this_update,omitempty"`
	NextUpdate       string `json:"next_update,omitempty"`
	ProducedAt       string `json:"produced_at,omitempty"`
	RevokedAt        string `json:"revoked_at,omitempty"`
	RevocationReason string `json:"revocation_reason,omitempty"`
	Responder        string `json:"responder,omitempty"`
	Error            string `json:"error,omitempty"`
}

// buildOCSP is the ocsp object: nil unless the client asked for a staple
// or the server sent one.
func buildOCSP(hs *decoder.Handshake) *OCSP {
	ch := hs.LatestClientHello()
	requested := ch != nil && ch.StatusRequest
	if !requested && hs.OCSP == nil && !hs.OCSPStapled {
		return nil
	}
	o := &OCSP{Requested: requested}
	if hs.StapleKnown() {
		stapled := hs.OCSPStapled || hs.OCSP != nil
		o.Stapled = &stapled
	}
	st := hs.OCSP
	if st == nil {
		return o
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	o.Frame, o.InCertificate = st.Frame, st.InCertificate
	o.Status, o.Serial, o.RevocationReason = st.Status, st.Serial, st.RevocationReason
	o.ThisUpdate, o.NextUpdate, o.ProducedAt, o.RevokedAt = stamp(st.ThisUpdate), stamp(st.NextUpdate), stamp(st.ProducedAt), stamp(st.RevokedAt)
	o.Responder, o.Error = Safe(st.Responder), Safe(st.Error)
	return o
}

func leafMustStaple(hs *decoder.Handshake) bool {
	return hs != nil && len(hs.ServerCertificates) > 0 && hs.ServerCertificates[0].MustStaple
}

// ocspFindings judges the staple at the capture's time: the time of the
// packet that carried it.
func ocspFindings(x *checkRun) {
	hs := x.r.HS
	if hs == nil {
		return
	}
	st := hs.OCSP
	if st == nil {
		if hs.StapleMissing() {
			frames := append(msgFrames(hs, decoder.Client, decoder.MsgClientHello), certFrames(hs)...)
			msg := "The client asked for a stapled OCSP response (status_request) and the server sent its certificate without one"
			if leafMustStaple(hs) {
				msg += "; the certificate carries the TLS Feature status_request (must-staple, RFC 7633), so clients that honour it refuse it."
			} else {
				msg += " (common; harmless unless the certificate demands a staple)."
			}
			x.add(FindingOCSPNotStapled, frames, "%s", msg)
		}
		return
	}
	frames := []int64{st.Frame}
	about := ""
	if len(hs.ServerCertificates) > 0 && st.Serial != "" && hs.ServerCertificates[0].Serial != "" && st.Serial != hs.ServerCertificates[0].Serial {
		about = " (about serial " + Safe(st.Serial) + ", not the leaf's " + Safe(hs.ServerCertificates[0].Serial) + ")"
	}
	by := ""
	if st.Responder != "" {
		by = ", signed by " + Safe(st.Responder)
	}
	switch st.Status {
	case "revoked":
		why := ""
		if st.RevocationReason != "" {
			why = " (" + st.RevocationReason + ")"
		}
		x.add(FindingOCSPRevoked, frames, "The server stapled an OCSP response%s saying its certificate was revoked on %s%s%s.",
			about, st.RevokedAt.UTC().Format("2006-01-02 15:04:05 UTC"), why, by)
	}
	if st.Stale() {
		x.add(FindingOCSPStale, frames, "The stapled OCSP response%s was stale: its nextUpdate %s was %s before this capture (thisUpdate %s)%s.",
			about, when(st.NextUpdate, st.Time.Sub(st.NextUpdate)), ago(st.Time.Sub(st.NextUpdate)), when(st.ThisUpdate, st.Time.Sub(st.ThisUpdate)), by)
	}
}
