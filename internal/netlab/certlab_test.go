package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tlsscope/tlsscope/decoder"
)

// TestCertLab: the certificate scenarios' PKI is what they claim, dated
// relative to the moment it is made (openssl ocsp dates its responses by
// the clock, so that moment is now).
func TestCertLab(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is missing")
	}
	now := time.Now()
	l, err := makeCertLab(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	chain := func(file string) []*x509.Certificate {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var out []*x509.Certificate
		for {
			var blk *pem.Block
			if blk, b = pem.Decode(b); blk == nil {
				return out
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
	roots := x509.NewCertPool()
	root := chain(l.Root)[0]
	roots.AddCert(root)
	verify := func(set certSet, name string, at time.Time) error {
		c := chain(set.Chain)
		inter := x509.NewCertPool()
		for _, x := range c[1:] {
			inter.AddCert(x)
		}
		_, err := c[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: at})
		return err
	}
	if err := verify(l.Good, serverName, now); err != nil {
		t.Errorf("the good chain does not verify at the lab's time: %v", err)
	}
	if err := verify(l.FullChain, serverName, now); err != nil {
		t.Errorf("the full chain does not verify: %v", err)
	}
	if n := len(chain(l.LeafOnly.Chain)); n != 1 || l.LeafOnly.CAs != "" {
		t.Errorf("leaf only: %d certificates, CAs %q", n, l.LeafOnly.CAs)
	}
	if err := verify(l.LeafOnly, serverName, now); err == nil {
		t.Error("the leaf alone verifies: the intermediate is not missing")
	}
	if err := verify(l.ExpiredIssuer, serverName, now); err == nil {
		t.Error("the chain through the expired intermediate verifies")
	} else if !chain(l.ExpiredIssuer.Chain)[0].NotAfter.After(now) || !chain(l.ExpiredIssuer.Chain)[1].NotAfter.Before(now) {
		t.Errorf("want a valid leaf under an expired intermediate: %v", err)
	}
	if err := verify(l.ExpiredIssuer, serverName, now.Add(-60*24*time.Hour)); err != nil {
		t.Errorf("60 days earlier the expired intermediate's chain should verify: %v", err)
	}
	if err := verify(l.ClientAuth, serverName, now); err == nil {
		t.Error("the clientAuth leaf verifies for serverAuth")
	}
	if err := verify(l.OtherName, serverName, now); err == nil {
		t.Error("the other.test leaf verifies for shop.test")
	}
	if err := verify(l.OtherName, otherName, now); err != nil {
		t.Errorf("the other.test leaf does not verify for other.test: %v", err)
	}
	other := x509.NewCertPool()
	other.AddCert(chain(l.OtherRoot)[0])
	fc := chain(l.FullChain.Chain)
	if _, err := fc[0].Verify(x509.VerifyOptions{DNSName: serverName, Roots: other, Intermediates: x509.NewCertPool(), CurrentTime: now}); err == nil {
		t.Error("the full chain verifies against the other root")
	}
	// decoder reads must-staple on the leaf that has it only.
	if !decoder.ParseCertificate(chain(l.MustStaple.Chain)[0].Raw).MustStaple {
		t.Error("the must-staple leaf is not read as must-staple")
	}
	if decoder.ParseCertificate(chain(l.Good.Chain)[0].Raw).MustStaple {
		t.Error("the good leaf is read as must-staple")
	}
	// Not yet valid: from 30 days on; it verifies then.
	if err := verify(l.NotYetValid, serverName, now); err == nil {
		t.Error("the not-yet-valid leaf verifies now")
	}
	if err := verify(l.NotYetValid, serverName, now.Add(31*24*time.Hour)); err != nil {
		t.Errorf("the not-yet-valid leaf does not verify in 31 days: %v", err)
	}
	// Bad signature: the leaf's TBS is as signed, the signature is not.
	bad := chain(l.BadSignature.Chain)
	if err := verify(l.BadSignature, serverName, now); err == nil {
		t.Error("the leaf with the flipped signature verifies")
	}
	if err := bad[0].CheckSignatureFrom(bad[1]); err == nil {
		t.Error("the flipped signature verifies with the intermediate's key")
	}
	if !bad[0].NotAfter.After(now) || bad[0].NotBefore.After(now) || len(bad) != 2 {
		t.Errorf("the bad-signature chain is otherwise not fine: %d certificates", len(bad))
	}
	// Self-signed: shop.test, sent alone, signed by its own key.
	self := chain(l.SelfSigned.Chain)
	if len(self) != 1 || l.SelfSigned.CAs != "" || !decoder.ParseCertificate(self[0].Raw).SelfSigned || self[0].VerifyHostname(serverName) != nil {
		t.Errorf("self-signed: %d certificates, CAs %q", len(self), l.SelfSigned.CAs)
	}
	if err := verify(l.SelfSigned, serverName, now); err == nil {
		t.Error("the self-signed leaf verifies under the lab's root")
	}
	// Expires soon: valid now, not in 11 days.
	if err := verify(l.ExpiresSoon, serverName, now); err != nil {
		t.Errorf("the expiring leaf does not verify now: %v", err)
	}
	if err := verify(l.ExpiresSoon, serverName, now.Add(11*24*time.Hour)); err == nil {
		t.Error("the expiring leaf still verifies in 11 days")
	}
	// OpenSSL's own words for each (as s_client -verify_return_error says).
	for _, x := range []struct {
		set  certSet
		want string
	}{
		{l.NotYetValid, "certificate is not yet valid"},
		{l.BadSignature, "certificate signature failure"},
		{l.SelfSigned, "self-signed certificate"},
		{l.ExpiresSoon, ": OK"},
	} {
		args := []string{"verify", "-CAfile", l.Root, "-verify_hostname", serverName}
		if x.set.CAs != "" {
			args = append(args, "-untrusted", x.set.CAs)
		}
		out, _ := exec.Command("openssl", append(args, x.set.Leaf)...).CombinedOutput()
		if !strings.Contains(string(out), x.want) {
			t.Errorf("openssl verify %s: %s, want %q", x.set.Leaf, out, x.want)
		}
	}
	leaf := chain(l.Good.Chain)[0]
	inter := chain(l.Good.Chain)[1]
	for _, x := range []struct {
		file   string
		status int
		stale  bool
	}{{l.OCSPGood, ocsp.Good, false}, {l.OCSPRevoked, ocsp.Revoked, false}, {l.OCSPStale, ocsp.Good, true}} {
		der, err := os.ReadFile(x.file)
		if err != nil {
			t.Fatal(err)
		}
		// Signed by the intermediate itself (ParseResponseForCert would
		// want a delegated responder under it).
		resp, err := ocsp.ParseResponse(der, nil)
		if err != nil {
			t.Errorf("%s: %v", x.file, err)
			continue
		}
		if err := resp.CheckSignatureFrom(inter); err != nil {
			t.Errorf("%s: not signed by the intermediate: %v", x.file, err)
		}
		if resp.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("%s: about serial %v, not the leaf's %v", x.file, resp.SerialNumber, leaf.SerialNumber)
		}
		if resp.Status != x.status {
			t.Errorf("%s: status %d, want %d", x.file, resp.Status, x.status)
		}
		if stale := resp.NextUpdate.Before(now); stale != x.stale {
			t.Errorf("%s: nextUpdate %v: stale %v, want %v", x.file, resp.NextUpdate, stale, x.stale)
		}
	}
}
