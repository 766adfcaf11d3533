package report

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
)

// TestCertificateProblems: each chain problem of cert-problems.pcap (one
// connection per problem, Go's client refusing each with
// bad_certificate) has its validation status, the certificate it
// concerns, its finding, and the cause in the verdict's words, judged
// against capgen's root alone.
func TestCertificateProblems(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "cert-problems.pcap"))
	for _, w := range []struct {
		stream  int
		status  string
		index   int
		finding string
		verdict string
	}{
		{0, "valid", 0, "", "complete in"},
		{1, "missing_intermediate", -1, "chain_incomplete", `failed: client alert bad_certificate: the server sent no intermediate for its leaf (issuer "tlsscope Issuing CA")`},
		{2, "untrusted_root", 2, "untrusted_root", `failed: client alert bad_certificate: the server's certificate 2 ("Untrusted Root") ends the chain and is no root of the store`},
		{3, "expired", 1, "certificate_expired", `failed: client alert bad_certificate: the server's certificate 1 ("tlsscope Expired Issuing CA") expired on 2026-02-01`},
		{4, "wrong_usage", 0, "wrong_usage", `failed: client alert bad_certificate: the server's certificate "cert.example" is not for serverAuth (extended key usage clientAuth)`},
		{5, "name_mismatch", 0, "name_mismatch", `failed: client alert bad_certificate: the server's certificate "other.example" does not cover "cert.example"`},
		{6, "self_signed", 0, "self_signed", `failed: client alert bad_certificate: the server's certificate "cert.example" is self-signed`},
		{7, "not_yet_valid", 0, "certificate_not_yet_valid", `failed: client alert bad_certificate: the server's certificate "cert.example" is valid only from 2026-03-03`},
		{8, "valid", 0, "certificate_expires_soon", "complete in"},
		{9, "bad_signature", 0, "bad_signature", `failed: client alert bad_certificate: the server's certificate "cert.example" does not verify with the key of its issuer`},
		{10, "untrusted_root", 2, "untrusted_root", `closed by client after ServerHelloDone: the server's certificate 2 ("Untrusted Root") ends the chain`},
	} {
		i := slices.IndexFunc(conns, func(c *Connection) bool { return c.Stream == w.stream })
		if i < 0 {
			t.Errorf("stream %d missing", w.stream)
			continue
		}
		c := conns[i]
		v := c.Validation
		if v == nil {
			t.Errorf("stream %d: no validation", w.stream)
			continue
		}
		if v.Status != w.status || v.Index != w.index {
			t.Errorf("stream %d: status %s (certificate %d), want %s (%d): %+v", w.stream, v.Status, v.Index, w.status, w.index, v.Problems)
		}
		if !strings.HasPrefix(c.Verdict, w.verdict) {
			t.Errorf("stream %d: verdict %q, want %q", w.stream, c.Verdict, w.verdict)
		}
		if !v.NameChecked || v.Name != "cert.example" || v.Usage != "serverAuth" || !strings.HasPrefix(v.TrustStore, "none + 1 CA file (1 root, ") {
			t.Errorf("stream %d: name %q checked %v, usage %s, store %q", w.stream, v.Name, v.NameChecked, v.Usage, v.TrustStore)
		}
		if !strings.HasPrefix(v.At, "2026-03-02T10:00:") {
			t.Errorf("stream %d: judged at %s, not the capture's time", w.stream, v.At)
		}
		if v.SCTs == nil || v.SCTs.Verified {
			t.Errorf("stream %d: SCTs %+v", w.stream, v.SCTs)
		}
		codes := []string{}
		for _, f := range c.Findings {
			codes = append(codes, f.Code)
		}
		for _, cert := range []string{"chain_incomplete", "untrusted_root", "wrong_usage", "bad_signature", "name_mismatch", "self_signed",
			"certificate_expired", "certificate_not_yet_valid", "certificate_expires_soon"} {
			if has := slices.Contains(codes, cert); has != (cert == w.finding) {
				t.Errorf("stream %d: finding %s: %v, findings %v", w.stream, cert, has, codes)
			}
		}
		if w.status != "valid" {
			// The cause rests on the Certificate message's frame too.
			cert := c.Messages[slices.IndexFunc(c.Messages, func(m Message) bool { return m.Type == "Certificate" })].Frame
			if !slices.Contains(c.ReasonFrames, cert) {
				t.Errorf("stream %d: reason frames %v lack the Certificate's %d", w.stream, c.ReasonFrames, cert)
			}
		}
	}
	// The leaf sent alone: its issuer came on stream 0, which never makes
	// it valid, and the finding says so with the leaf's caIssuers URL.
	c := conns[slices.IndexFunc(conns, func(c *Connection) bool { return c.Stream == 1 })]
	f := c.Findings[slices.IndexFunc(c.Findings, func(f Finding) bool { return f.Code == "chain_incomplete" })]
	if c.Validation.IssuerSentIn != "0" || !strings.Contains(f.Message, "A client that has it cached would accept it (sent in stream 0).") ||
		!strings.Contains(f.Message, "http://ca.tlsscope.test/issuing.crt") || f.Severity != SevError {
		t.Errorf("chain_incomplete: %+v, issuer sent in %q", f, c.Validation.IssuerSentIn)
	}
}

// TestCertificateCauseOnlyWithAProblem: a refusal of a chain the store
// judges valid keeps its plain words (the client trusted other roots).
func TestCertificateCauseOnlyWithAProblem(t *testing.T) {
	for _, c := range connections(t, filepath.Join(testdata, "alert-client-rejects-cert.pcap")) {
		if c.Validation == nil || c.Validation.Status != "valid" || c.Verdict != "failed: client alert bad_certificate" {
			t.Errorf("stream %d: %q, validation %+v", c.Stream, c.Verdict, c.Validation)
		}
	}
}

// TestCertificateValidationDecrypted: a TLS 1.3 chain read with keys is
// judged like any other, and so is the client's certificate (clientAuth,
// no name).
func TestCertificateValidationDecrypted(t *testing.T) {
	for _, c := range connections(t, filepath.Join(testdata, "keys-tls13-mtls.pcap")) {
		v, cv := c.Validation, c.ClientValidation
		if v == nil || v.Status != "valid" || v.Usage != "serverAuth" || !v.NameChecked {
			t.Errorf("stream %d: server's chain %+v", c.Stream, v)
		}
		if cv == nil || cv.Status != "valid" || cv.Usage != "clientAuth" || cv.NameChecked || cv.SCTs != nil {
			t.Errorf("stream %d: client's chain %+v", c.Stream, cv)
		}
	}
}

// TestRealClientsCause: what tlsscope says of real clients' refusals in
// testdata/netlab (their own words are in its MANIFEST.md), judged as the
// client judged: against the lab's root alone (lab-root.pem), or against
// no root where the client trusted another one. Both captures of each
// scenario say the same. Firefox and Node open one connection; the
// command-line scenarios one each for s_client TLS 1.3, s_client TLS 1.2,
// curl, gnutls-cli, then Chromium's (one or two, the last verdict).
func TestRealClientsCause(t *testing.T) {
	lab := labValidator(t)
	empty, err := decoder.LoadTrustStore(decoder.TrustNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	none := decoder.NewValidator(empty)
	fiveClients := func(openssl, gnutls, chromium string) []string {
		return []string{openssl, openssl, openssl, gnutls, chromium}
	}
	for _, w := range []struct {
		scenario string
		v        *decoder.Validator
		status   string
		finding  string
		verdicts []string
	}{
		// SEC_ERROR_UNKNOWN_ISSUER
		{"cert-firefox-missing-intermediate", lab, "missing_intermediate", "chain_incomplete",
			[]string{`failed: client alert unknown_ca: the server sent no intermediate for its leaf (issuer "tlsscope certlab intermediate")`}},
		// SEC_ERROR_UNKNOWN_ISSUER
		{"cert-firefox-untrusted-root", none, "untrusted_root", "untrusted_root",
			[]string{`failed: client alert unknown_ca: the server's certificate 2 ("tlsscope certlab root") ends the chain and is no root of the store`}},
		// SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE
		{"cert-firefox-expired-intermediate", lab, "expired", "certificate_expired",
			[]string{`failed: client alert unknown_ca: the server's certificate 1 ("tlsscope certlab expired intermediate") expired on `}},
		// SSL_ERROR_BAD_CERT_DOMAIN
		{"cert-firefox-name-mismatch", lab, "name_mismatch", "name_mismatch",
			[]string{`failed: client alert bad_certificate: the server's certificate "other.test" does not cover "shop.test"`}},
		{"cert-firefox-valid", lab, "valid", "", []string{"complete in "}},
		// UNABLE_TO_VERIFY_LEAF_SIGNATURE: a FIN, no alert.
		{"cert-node-missing-intermediate", lab, "missing_intermediate", "chain_incomplete",
			[]string{`closed by client after Finished: the server sent no intermediate for its leaf (issuer "tlsscope certlab intermediate")`}},
		// OpenSSL: "certificate is not yet valid"; gnutls-cli: "Error in
		// the certificate."; Chromium: ERR_CERT_DATE_INVALID.
		{"cert-not-yet-valid", lab, "not_yet_valid", "certificate_not_yet_valid", fiveClients(
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" is valid only from `)},
		// OpenSSL: "certificate signature failure" (decrypt_error).
		{"cert-bad-signature", lab, "bad_signature", "bad_signature", fiveClients(
			`failed: client alert decrypt_error: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert bad_certificate: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" does not verify with the key of its issuer`)},
		// OpenSSL: "self-signed certificate" (unknown_ca).
		{"cert-self-signed", lab, "self_signed", "self_signed", fiveClients(
			`failed: client alert unknown_ca: the server's certificate "shop.test" is self-signed`,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is self-signed`,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" is self-signed`)},
		// Every client takes it; the leaf expires 10 days after.
		{"cert-expires-soon", lab, "valid", "certificate_expires_soon", fiveClients("complete in ", "complete in ", "complete in ")},
	} {
		for _, side := range []string{"client", "server"} {
			file := filepath.Join(testdata, "netlab", w.scenario+"."+side+".pcap")
			conns := connectionsWith(t, file, w.v)
			if len(w.verdicts) == 1 && len(conns) != 1 || len(conns) < len(w.verdicts) || len(conns) > len(w.verdicts)+1 {
				t.Errorf("%s: %d connections, want %d", file, len(conns), len(w.verdicts))
				continue
			}
			for _, c := range conns {
				verdict := w.verdicts[min(c.Stream, len(w.verdicts)-1)]
				if c.Validation == nil || c.Validation.Status != w.status || !strings.HasPrefix(c.Verdict, verdict) {
					t.Errorf("%s stream %d: verdict %q, validation %+v; want %s, %q", file, c.Stream, c.Verdict, c.Validation, w.status, verdict)
					continue
				}
				for _, code := range []string{"chain_incomplete", "untrusted_root", "certificate_expired", "name_mismatch",
					"certificate_not_yet_valid", "bad_signature", "self_signed", "certificate_expires_soon"} {
					if has := slices.ContainsFunc(c.Findings, func(f Finding) bool { return f.Code == code }); has != (code == w.finding) {
						t.Errorf("%s stream %d: finding %s %v", file, c.Stream, code, has)
					}
				}
			}
		}
	}
}
