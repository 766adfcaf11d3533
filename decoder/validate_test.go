package decoder

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var capTime = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue makes a certificate from tmpl signed by parent (self-signed when
// parent is nil).
func issue(t *testing.T, tmpl *x509.Certificate, parent *testCA) *testCA {
	t.Helper()
	key := newKey(t)
	signer, pc := crypto.Signer(key), tmpl
	if parent != nil {
		signer, pc = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pc, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{c, key}
}

func caTmpl(cn string, serial int64) *x509.Certificate {
	return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: capTime.AddDate(-1, 0, 0), NotAfter: capTime.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
}

func leafTmpl(cn string, serial int64, eku x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: capTime.AddDate(0, -1, 0), NotAfter: capTime.AddDate(0, 6, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku},
		IssuingCertificateURL: []string{"http://ca.example/issuing.crt"}}
}

func chainOf(cs ...*testCA) []*Certificate {
	var out []*Certificate
	for _, c := range cs {
		out = append(out, ParseCertificate(c.cert.Raw))
	}
	return out
}

// storeWith writes roots to a PEM file and loads it as --trust none
// --ca-file FILE would.
func storeWith(t *testing.T, roots ...*testCA) *TrustStore {
	t.Helper()
	f := filepath.Join(t.TempDir(), "roots.pem")
	var b []byte
	for _, r := range roots {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.cert.Raw})...)
	}
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ca, err := ReadCAFiles([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadTrustStore(TrustNone, ca)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestValidationStatuses: one chain per status, judged at the capture's
// time, each with the certificate it concerns.
func TestValidationStatuses(t *testing.T) {
	root := issue(t, caTmpl("Test Root", 1), nil)
	inter := issue(t, caTmpl("Example Issuing CA", 2), root)
	otherRoot := issue(t, caTmpl("Other Root", 3), nil)
	otherInter := issue(t, caTmpl("Other Issuing CA", 4), otherRoot)
	good := issue(t, leafTmpl("shop.example", 10, x509.ExtKeyUsageServerAuth), inter)
	clientOnly := issue(t, leafTmpl("shop.example", 11, x509.ExtKeyUsageClientAuth), inter)
	expiredT := leafTmpl("shop.example", 12, x509.ExtKeyUsageServerAuth)
	expiredT.NotBefore, expiredT.NotAfter = capTime.AddDate(-1, 0, 0), capTime.AddDate(0, 0, -3)
	expired := issue(t, expiredT, inter)
	futureT := leafTmpl("shop.example", 13, x509.ExtKeyUsageServerAuth)
	futureT.NotBefore = capTime.AddDate(0, 0, 2)
	future := issue(t, futureT, inter)
	selfT := leafTmpl("shop.example", 14, x509.ExtKeyUsageServerAuth)
	self := issue(t, selfT, nil)
	untrusted := issue(t, leafTmpl("shop.example", 15, x509.ExtKeyUsageServerAuth), otherInter)
	noAIAT := leafTmpl("shop.example", 16, x509.ExtKeyUsageServerAuth)
	noAIAT.IssuingCertificateURL = nil
	noAIA := issue(t, noAIAT, otherInter)
	// A leaf whose signature is broken: its issuer's name, another key.
	impostor := issue(t, caTmpl("Example Issuing CA", 5), root)
	forged := issue(t, leafTmpl("shop.example", 17, x509.ExtKeyUsageServerAuth), impostor)

	store := storeWith(t, root)
	mozilla, err := LoadTrustStore(TrustMozilla, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		store  *TrustStore
		chain  []*Certificate
		sni    string
		usage  x509.ExtKeyUsage
		status string
		index  int
	}{
		{"valid", store, chainOf(good, inter), "shop.example", x509.ExtKeyUsageServerAuth, StatusValid, 0},
		{"valid, no SNI", store, chainOf(good, inter), "", x509.ExtKeyUsageServerAuth, StatusValid, 0},
		{"missing intermediate (AIA)", store, chainOf(good), "shop.example", x509.ExtKeyUsageServerAuth, StatusMissingIntermediate, -1},
		{"leaf issuer unknown, no AIA, no CA file", mozilla, chainOf(noAIA), "shop.example", x509.ExtKeyUsageServerAuth, StatusUntrustedRoot, -1},
		{"untrusted root, complete chain", store, chainOf(untrusted, otherInter, otherRoot), "shop.example", x509.ExtKeyUsageServerAuth, StatusUntrustedRoot, 2},
		{"untrusted root, root not sent", store, chainOf(untrusted, otherInter), "shop.example", x509.ExtKeyUsageServerAuth, StatusUntrustedRoot, -1},
		{"expired", store, chainOf(expired, inter), "shop.example", x509.ExtKeyUsageServerAuth, StatusExpired, 0},
		{"not yet valid", store, chainOf(future, inter), "shop.example", x509.ExtKeyUsageServerAuth, StatusNotYetValid, 0},
		{"name mismatch", store, chainOf(good, inter), "other.example", x509.ExtKeyUsageServerAuth, StatusNameMismatch, 0},
		{"wrong usage", store, chainOf(clientOnly, inter), "shop.example", x509.ExtKeyUsageServerAuth, StatusWrongUsage, 0},
		{"client usage", store, chainOf(clientOnly, inter), "", x509.ExtKeyUsageClientAuth, StatusValid, 0},
		{"bad signature", store, chainOf(forged, inter), "shop.example", x509.ExtKeyUsageServerAuth, StatusBadSignature, 0},
		{"self-signed", store, chainOf(self), "shop.example", x509.ExtKeyUsageServerAuth, StatusSelfSigned, 0},
	} {
		v := NewValidator(c.store).Validate(c.chain, c.sni, c.usage, capTime)
		if v == nil {
			t.Errorf("%s: not validated", c.name)
			continue
		}
		if v.Status != c.status || v.Index != c.index {
			t.Errorf("%s: status %s (certificate %d), want %s (%d); problems %+v, error %q", c.name, v.Status, v.Index, c.status, c.index, v.Problems, v.Error)
		}
		if v.NameChecked != (c.sni != "") {
			t.Errorf("%s: name checked %v with SNI %q", c.name, v.NameChecked, c.sni)
		}
	}
	// The missing intermediate names the leaf's issuer and where it is.
	v := NewValidator(store).Validate(chainOf(good), "shop.example", x509.ExtKeyUsageServerAuth, capTime)
	if !v.LeafIssuerMissing || v.Problems[0].Name != "Example Issuing CA" || len(v.IssuerURLs) != 1 {
		t.Errorf("missing intermediate: %+v", v)
	}
	// The issuer sent elsewhere is found so, and only the real one.
	if !v.IssuedTop(ParseCertificate(inter.cert.Raw)) || v.IssuedTop(ParseCertificate(impostor.cert.Raw)) {
		t.Error("IssuedTop: the issuer not told from an impostor with its name")
	}
	// The chain built ends at the store's root.
	v = NewValidator(store).Validate(chainOf(good, inter), "shop.example", x509.ExtKeyUsageServerAuth, capTime)
	if len(v.Chain) != 3 || v.Chain[2] != "CN=Test Root" {
		t.Errorf("chain %q, want leaf, issuing CA, root", v.Chain)
	}
}

// TestValidationAtCaptureTime: the same chain, judged at two times, is
// valid then expired: the capture's clock decides, and the cache keeps
// the two apart.
func TestValidationAtCaptureTime(t *testing.T) {
	root := issue(t, caTmpl("Test Root", 1), nil)
	leaf := issue(t, leafTmpl("shop.example", 10, x509.ExtKeyUsageServerAuth), root)
	v := NewValidator(storeWith(t, root))
	chain := chainOf(leaf)
	if s := v.Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, capTime).Status; s != StatusValid {
		t.Errorf("at the capture's time: %s", s)
	}
	if s := v.Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, capTime.AddDate(1, 0, 0)).Status; s != StatusExpired {
		t.Errorf("a year later: %s", s)
	}
	// The day the leaf expires: judged to the second.
	end := leaf.cert.NotAfter
	if s := v.Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, end.Add(-time.Minute)).Status; s != StatusValid {
		t.Errorf("a minute before the end: %s", s)
	}
	if s := v.Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, end.Add(time.Minute)).Status; s != StatusExpired {
		t.Errorf("a minute after the end, the same day: %s", s)
	}
}

// TestValidationCachedErrorTime: an expired chain judged twice the same
// day (from the cache the second time) names each judging's own time in
// crypto/x509's error (cert-firefox-expired-intermediate after
// cert-expired-intermediate, the same lab chain, showed the first one's).
func TestValidationCachedErrorTime(t *testing.T) {
	root := issue(t, caTmpl("Test Root", 1), nil)
	leaf := issue(t, leafTmpl("shop.example", 10, x509.ExtKeyUsageServerAuth), root)
	v := NewValidator(storeWith(t, root))
	chain := chainOf(leaf)
	first := capTime.AddDate(1, 0, 0)
	for _, at := range []time.Time{first, first.Add(3 * time.Hour), first} {
		r := v.Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, at)
		if r.Status != StatusExpired || !strings.Contains(r.Error, "current time "+at.Format(time.RFC3339)+" is after") {
			t.Errorf("judged at %v: %s, error %q", at, r.Status, r.Error)
		}
	}
}

// TestValidationBounded: a hostile chain of many certificates is looked
// at up to the bound, not further.
func TestValidationBounded(t *testing.T) {
	root := issue(t, caTmpl("Test Root", 1), nil)
	leaf := issue(t, leafTmpl("shop.example", 10, x509.ExtKeyUsageServerAuth), root)
	chain := chainOf(leaf)
	junk := issue(t, caTmpl("Junk", 2), nil)
	for range 300 {
		chain = append(chain, ParseCertificate(junk.cert.Raw))
	}
	v := NewValidator(storeWith(t, root)).Validate(chain, "shop.example", x509.ExtKeyUsageServerAuth, capTime)
	if v.Status != StatusValid || v.NotValidated != 301-maxValidated {
		t.Errorf("status %s, not validated %d", v.Status, v.NotValidated)
	}
}

// TestTrustStores: each store says what it holds; the Mozilla list is
// the embedded one, the same on every machine.
func TestTrustStores(t *testing.T) {
	m, err := LoadTrustStore(TrustMozilla, nil)
	if err != nil || m.Roots < 100 || len(m.Hash) != 8 {
		t.Fatalf("mozilla: %v %+v", err, m)
	}
	n, err := LoadTrustStore(TrustNone, nil)
	if err != nil || n.Roots != 0 {
		t.Fatalf("none: %v %+v", err, n)
	}
	if _, err := LoadTrustStore("bogus", nil); err == nil {
		t.Error("an unknown store accepted")
	}
	if _, err := ReadCAFiles([]string{"/nonexistent.pem"}); err == nil {
		t.Error("a missing CA file accepted")
	}
	t.Setenv("SSL_CERT_FILE", "/nonexistent")
	t.Setenv("SSL_CERT_DIR", "")
	s, err := LoadTrustStore(TrustSystem, nil)
	if err != nil || s.Name != TrustMozilla || s.Hash != m.Hash {
		t.Errorf("system without roots: %v %s, want the Mozilla list", err, s)
	}
}

// TestCAFilesReadOnce: the --ca-file roots are read by ReadCAFiles alone;
// a store built after the file is gone still holds them, and names how
// many files there were. A file with no certificate is refused.
func TestCAFilesReadOnce(t *testing.T) {
	root := issue(t, caTmpl("Test Root", 1), nil)
	dir := t.TempDir()
	f := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	ca, err := ReadCAFiles([]string{f, f})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	s, err := LoadTrustStore(TrustNone, ca)
	if err != nil || s.Roots != 1 || !s.CAFiles || s.Name != "none + 2 CA files" || s.issuerOf(root.cert) == nil {
		t.Errorf("store %+v, err %v: want the root read before the file went", s, err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCAFiles([]string{empty}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file without a certificate: %v", err)
	}
}
