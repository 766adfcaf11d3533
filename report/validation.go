package report

import (
	"fmt"
	"strings"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// validationFindings: what the judgement of each side's chain found, by
// the frame of the Certificate message that carried it. The verdict's
// cause (Reason.Cause) is flows'; these are the problems themselves.
func validationFindings(x *checkRun) {
	hs := x.r.HS
	for _, side := range []decoder.Side{decoder.Server, decoder.Client} {
		c := x.r.ServerChain
		if side == decoder.Client {
			c = x.r.ClientChain
		}
		if c == nil || c.Validation == nil {
			continue
		}
		frames := msgFrames(hs, side, decoder.MsgCertificate, decoder.MsgCompressedCertificate)
		if side == decoder.Server {
			frames = certFrames(hs)
		}
		chainFindings(x, side, c, frames)
	}
}

func chainFindings(x *checkRun, side decoder.Side, c *flows.ChainCheck, frames []int64) {
	v := c.Validation
	who := side.String()
	store := "the trust store " + v.Store
	if v.IssuerMissing && (v.LeafIssuerMissing || v.Status == decoder.StatusMissingIntermediate) {
		var b strings.Builder
		fmt.Fprintf(&b, "The %s did not send the certificate that issued its leaf, \"%s\", and it is no root of %s: a %s must send its intermediates, whatever a peer has cached.",
			who, clip(issuerName(v)), store, who)
		if v.Status == decoder.StatusUntrustedRoot {
			b.WriteString(" The leaf names no location for its issuer, and no other connection sent it: either an intermediate is missing or the root is one the store does not hold.")
		}
		if len(v.IssuerURLs) > 0 {
			fmt.Fprintf(&b, " The leaf says where it is (caIssuers): %s.", strings.Join(clipList(v.IssuerURLs), ", "))
		}
		if c.IssuerSentIn != nil {
			fmt.Fprintf(&b, " A client that has it cached would accept it (sent in stream %s).", c.IssuerSentIn)
		}
		x.add(FindingChainIncomplete, frames, "%s", b.String())
	}
	for _, p := range v.Problems {
		name := certName(who, p)
		switch p.Status {
		case decoder.StatusUntrustedRoot:
			switch {
			case p.Index >= 0:
				x.add(FindingUntrustedRoot, frames, "%s ends the chain and is no root of %s.", name, store)
			case !v.LeafIssuerMissing:
				msg := fmt.Sprintf("The %s's chain ends below \"%s\", which is no root of %s (an untrusted root, or an intermediate not sent).", who, clip(p.Name), store)
				if c.IssuerSentIn != nil {
					msg += fmt.Sprintf(" A client that has it cached would accept it (sent in stream %s).", c.IssuerSentIn)
				}
				x.add(FindingUntrustedRoot, frames, "%s", msg)
			}
		case decoder.StatusWrongUsage:
			x.add(FindingWrongUsage, frames, "%s %s.", name, clip(p.Detail))
		case decoder.StatusBadSignature:
			x.add(FindingBadSignature, frames, "%s %s.", name, clip(p.Detail))
		}
	}
}

// issuerName is the missing issuer as the problem names it.
func issuerName(v *decoder.Validation) string {
	for _, p := range v.Problems {
		if p.Index == -1 && (p.Status == decoder.StatusMissingIntermediate || p.Status == decoder.StatusUntrustedRoot) {
			return p.Name
		}
	}
	return v.Issuer
}

// certName names the certificate of a problem to begin a sentence.
func certName(who string, p decoder.CertProblem) string {
	switch {
	case p.Index == 0:
		return fmt.Sprintf("The %s's certificate \"%s\"", who, clip(p.Name))
	case p.Index < 0:
		return fmt.Sprintf("The store's root \"%s\"", clip(p.Name))
	}
	return fmt.Sprintf("Certificate %d of the %s's chain (\"%s\")", p.Index, who, clip(p.Name))
}
