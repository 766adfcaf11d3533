package flows

import (
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestCertCause: the certificate problem that explains each refusal of
// cert-problems.pcap is decided with the verdict, from the chain judged
// against capgen's root; a complete handshake has none, and the leaf
// sent alone names the stream that sent its issuer.
func TestCertCause(t *testing.T) {
	ca, err := decoder.ReadCAFiles([]string{"../testdata/capgen-ca.pem"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := decoder.LoadTrustStore(decoder.TrustNone, ca)
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenFile("../testdata/cert-problems.pcap")
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	opts := DefaultOptions
	opts.Validator = decoder.NewValidator(store)
	a := NewAnalyzer(opts)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	want := []string{"", decoder.StatusMissingIntermediate, decoder.StatusUntrustedRoot, decoder.StatusExpired, decoder.StatusWrongUsage,
		decoder.StatusNameMismatch, decoder.StatusSelfSigned, decoder.StatusNotYetValid, "", decoder.StatusBadSignature, decoder.StatusUntrustedRoot}
	rs := a.Finish()
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		got := ""
		if c := r.Reason.Cause; c != nil {
			got = c.Problem.Status
			if c.Side != decoder.Server || c.Check != r.ServerChain {
				t.Errorf("stream %d: cause on the %s's chain", r.Stream, c.Side)
			}
		}
		if got != want[i] {
			t.Errorf("stream %d (%s): cause %q, want %q", r.Stream, r.Reason.Kind, got, want[i])
		}
	}
	if s := rs[1].ServerChain.IssuerSentIn; s == nil || *s != (StreamID{TransportTCP, 0}) {
		t.Errorf("the leaf alone: issuer sent in %v, want stream 0", s)
	}
	// Without a validator nothing is judged and nothing explained.
	for _, r := range analyzeNoValidator(t) {
		if r.Reason.Cause != nil || r.ServerChain != nil {
			t.Errorf("stream %d: judged without a validator", r.Stream)
		}
	}
}

func analyzeNoValidator(t *testing.T) []*Result {
	rs, _ := analyze(t, "../testdata/cert-problems.pcap")
	return rs
}

// TestDecryptErrorCause: decrypt_error, OpenSSL's alert for a certificate
// whose signature fails, is explained by a chain's bad signature and by
// nothing else (a failed CertificateVerify or Finished is no chain's
// fault, whatever else the chain has).
func TestDecryptErrorCause(t *testing.T) {
	bad := decoder.CertProblem{Status: decoder.StatusBadSignature, Name: "shop.test"}
	untrusted := decoder.CertProblem{Status: decoder.StatusUntrustedRoot, Index: 1, Name: "root"}
	for _, w := range []struct {
		alert    uint8
		problems []decoder.CertProblem
		want     string
	}{
		{51, []decoder.CertProblem{bad}, decoder.StatusBadSignature},
		{51, []decoder.CertProblem{untrusted, bad}, decoder.StatusBadSignature},
		{51, []decoder.CertProblem{untrusted}, ""},
		{51, nil, ""},
		{42, []decoder.CertProblem{untrusted}, decoder.StatusUntrustedRoot},
	} {
		r := &Result{Outcome: Failed, Alert: &decoder.Alert{From: decoder.Client, Level: 2, Description: w.alert},
			HS: &decoder.Handshake{}, ServerChain: &ChainCheck{Validation: &decoder.Validation{Problems: w.problems}}}
		got := ""
		if c := certCause(r); c != nil {
			got = c.Problem.Status
		}
		if got != w.want {
			t.Errorf("alert %d, problems %v: cause %q, want %q", w.alert, w.problems, got, w.want)
		}
	}
}
