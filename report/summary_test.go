package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// TestSummaryByServer: over the row limit, outcomes by server and SNI
// with the top alert of the failed and the handshake percentiles (by
// nearest rank), the busiest first; the total read says "of".
func TestSummaryByServer(t *testing.T) {
	var conns []*Connection
	for i := range 100 {
		ms := float64(i + 1) // 1..100 ms
		c := &Connection{Stream: i, Client: fmt.Sprintf("192.0.2.1:%d", 1000+i), Server: "198.51.100.1:443",
			Outcome: "complete", Verdict: "complete", ClientHello: &ClientHello{SNI: "a.example"}, Timing: &Timing{HandshakeMS: &ms}}
		if i%4 == 0 {
			c.Server, c.ClientHello.SNI = "198.51.100.2:443", "b.example"
			c.Outcome, c.Verdict, c.Timing = "failed", "failed: server alert handshake_failure", nil
			c.Alerts = []Alert{{From: "server", Level: "fatal", Description: "handshake_failure"}}
			if i%8 == 0 {
				c.Alerts[0].Description = "protocol_version"
			}
			if i == 4 {
				c.Alerts = []Alert{{From: "server", Level: "fatal", Description: "internal_error"}}
			}
		}
		conns = append(conns, c)
	}
	var b bytes.Buffer
	tw := newTableWriter(&b, Options{RowLimit: 10, Width: 200, Total: func() int { return 20000 }})
	for _, c := range conns {
		tw.Write(c)
	}
	tw.Close()
	out := b.String()
	rows, pairs := tw.(*tableWriter).d.servers(20)
	if pairs != 2 || rows[0].SNI != "a.example" || rows[0].Connections != 75 || rows[1].Failed != 25 {
		t.Fatalf("servers: %+v, %d pairs", rows, pairs)
	}
	// a.example: the 75 times not divisible by 4 (ms 2,3,4,6,7,8,…): p50
	// is the 38th, p95 the 72nd.
	var times []float64
	for i := range 100 {
		if i%4 != 0 {
			times = append(times, float64(i+1))
		}
	}
	if p := rows[0].Times; p.N != 75 || p.P50 != times[37] || p.P95 != times[71] {
		t.Errorf("a.example times: %+v, want p50 %v p95 %v", p, times[37], times[71])
	}
	for _, want := range []string{
		"Outcomes by server and SNI:",
		"│ 198.51.100.2:443 │ b.example │ 25    │ 0        │ 25 (server protocol_version) │",
		"│ 198.51.100.1:443 │ a.example │ 75    │ 75       │ 0                            │ 51 ms / 96 ms │",
		// the columns of zeros (stalled, other) left out
		"│      Server      │    SNI    │ Total │ Complete │            Failed            │   p50 / p95   │",
		"100 of 20000 TLS connections: 75 complete, 25 failed",
		"Connections that did not go well (the worst 10):",
		"10 of 100 connections listed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "│ 1      │") {
		t.Errorf("a complete connection listed among those that did not go well:\n%s", out)
	}
}

// TestTotalOnlyWhenFiltered: "of" only when the filters left some out.
func TestTotalOnlyWhenFiltered(t *testing.T) {
	for _, tc := range []struct {
		total func() int
		want  string
	}{
		{nil, "\n30 TLS connections: 27 complete, 3 stalled\n"},
		{func() int { return 30 }, "\n30 TLS connections: 27 complete, 3 stalled\n"},
		{func() int { return 787 }, "\n30 of 787 TLS connections: 27 complete, 3 stalled\n"},
	} {
		var b bytes.Buffer
		WriteTable(&b, synthetic(30, 0), Options{Total: tc.total})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("want %q in:\n%s", tc.want, b.String())
		}
	}
}

// TestFIPSOnRequest: not_fips_approved is made only with PolicyFIPS, in
// the one place findings are made, so every format follows.
func TestFIPSOnRequest(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "expired-cert.pcap")) // x25519
	r := conns[0].Result()
	has := func(c *Connection) bool {
		for _, f := range c.Findings {
			if f.Code == "not_fips_approved" {
				return true
			}
		}
		return false
	}
	if has(Build(r)) {
		t.Error("not_fips_approved without --policy fips")
	}
	c := Build(r, PolicyFIPS)
	if !has(c) {
		t.Fatalf("no not_fips_approved with PolicyFIPS: %+v", c.Findings)
	}
	var b bytes.Buffer
	WriteJSON(&b, []*Connection{c})
	if !strings.Contains(b.String(), `"code":"not_fips_approved","message":"The connection uses what FIPS 140-3 does not approve: group x25519."`) {
		t.Errorf("JSON: %s", b.String())
	}
}

// TestFindingsAreSentences: every finding of every generated capture is
// a sentence: capitalised, ending with a period, without the doubled or
// wrong words the issue found.
func TestFindingsAreSentences(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	netlab, _ := filepath.Glob(filepath.Join(testdata, "netlab", "*.pcap"))
	seen := map[string]bool{}
	for _, f := range append(files, netlab...) {
		for _, c := range connections(t, f) {
			for _, x := range append(Build(c.Result(), PolicyFIPS).Findings, c.Findings...) {
				seen[x.Code] = true
				m := x.Message
				first := []rune(m)[0]
				if !unicode.IsUpper(first) || !strings.HasSuffix(m, ".") || strings.HasSuffix(m, "..") {
					t.Errorf("%s: %s: not a sentence: %q", filepath.Base(f), x.Code, m)
				}
				for _, bad := range []string{"certificate certificate", " 0 days", "1 times", "1 packets", "(encrypted) (encrypted)"} {
					if strings.Contains(m, bad) {
						t.Errorf("%s: %s: %q in %q", filepath.Base(f), x.Code, bad, m)
					}
				}
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d finding codes seen", len(seen))
	}
}

// TestCertificateWording: the words the issue found wrong, on the
// checks themselves: a certificate expired 3 s before the capture, an
// MD5 signature, a self-signed leaf, an SNI against a CN without SAN.
func TestCertificateWording(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 3, 0, time.UTC)
	leaf := &decoder.Certificate{CommonName: "selfsigned.example", SignatureAlgorithm: "MD5-RSA", SelfSigned: true,
		NotBefore: at.AddDate(-1, 0, 0), NotAfter: at.Add(-3 * time.Second), PublicKey: "RSA 2048", PublicKeyBits: 2048,
		SHA256: strings.Repeat("ab", 32)}
	r := &flows.Result{Start: at, HS: &decoder.Handshake{ClientHello: &decoder.ClientHello{ServerName: "shop.example"},
		ServerCertificates: []*decoder.Certificate{leaf}}}
	got := map[string]string{}
	x := &checkRun{r: r}
	certFindings(x)
	for _, f := range x.out {
		got[f.Code] = f.Message
	}
	for code, want := range map[string]string{
		"certificate_expired": `The server's certificate CN="selfsigned.example" expired on 2026-11-23 12:00:00 UTC, 3 s before this capture.`,
		"md5_signature":       `The server's certificate CN="selfsigned.example" is signed with MD5-RSA: MD5 collisions are practical (RFC 6151), and no current client accepts it.`,
		"self_signed":         `The server's certificate CN="selfsigned.example" is self-signed: clients trust it only if it is pinned or installed as a root.`,
		"name_mismatch":       `The client asked for "shop.example", but the server's certificate has no subject alternative name, only CN "selfsigned.example", which current clients ignore (RFC 6125 §6.4.4).`,
	} {
		if got[code] != want {
			t.Errorf("%s:\n got %q\nwant %q", code, got[code], want)
		}
	}
	if _, ok := got["sha1_signature"]; ok {
		t.Error("an MD5 signature called sha1_signature")
	}
	for d, want := range map[time.Duration]string{500 * time.Millisecond: "under a second", 90 * time.Minute: "1 hour", 5 * time.Hour: "5 hours", 72 * time.Hour: "3 days"} {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestWorstInTurn: over the limit, failures of equal weight are kept in
// turn by outcome, not the first 10 of one kind.
func TestWorstInTurn(t *testing.T) {
	d := newDigest(10)
	for i := range 200 {
		c := &Connection{Stream: i, Outcome: "failed", Findings: []Finding{{Severity: SevError, Code: "handshake_failed", Message: "F."}}}
		if i >= 100 {
			c.Outcome, c.Findings = "stalled", []Finding{{Severity: SevError, Code: "handshake_stalled", Message: "S."}}
		}
		d.add(c)
	}
	n := map[string]int{}
	for _, c := range d.failing() {
		n[c.Outcome]++
	}
	if n["failed"] != 5 || n["stalled"] != 5 {
		t.Errorf("kept %v, want 5 of each", n)
	}
}
