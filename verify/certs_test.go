package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

// oursValidated runs tlsscope over a file judging chains against store,
// and returns its JSON Lines, decoded, by client port.
func oursValidated(t *testing.T, file string, store *decoder.TrustStore) map[int]*report.Connection {
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	opts := flows.DefaultOptions
	opts.Validator = decoder.NewValidator(store)
	a := flows.NewAnalyzer(opts)
	a.Run(m)
	var conns []*report.Connection
	for _, r := range a.Finish() {
		conns = append(conns, report.Build(r))
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, conns); err != nil {
		t.Fatal(err)
	}
	out := map[int]*report.Connection{}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		c := new(report.Connection)
		if err := dec.Decode(c); err != nil {
			t.Fatal(err)
		}
		out[c.ClientPort] = c
	}
	return out
}

// TestZeekValidation compares Zeek's validate-certs (validation_status
// in its ssl.log baseline, OpenSSL's words, with Zeek's cache of
// intermediates from other connections) with tlsscope's validation
// status per connection, and asserts the mapping: "certificate has
// expired" is expired; "unable to get local issuer certificate" is
// missing_intermediate or untrusted_root with the reason; Zeek's "ok" for
// a server that sent only its leaf (the intermediate came from its cache)
// is missing_intermediate with the other stream that sent it. The
// captures are from 2014: they are judged at their own time, against the
// Mozilla list built in (the same on every machine), which no longer
// holds some roots of that day; those rows are shown, not asserted.
func TestZeekValidation(t *testing.T) {
	testenv.NeedShared(t, "..")
	base := filepath.Join(shared, "zeek/testing/btest")
	logs, err := readZeekLog(filepath.Join(base, "Baseline/scripts.policy.protocols.ssl.validate-certs/ssl-all.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The baseline is the two captures' ssl.logs, one after the other
	// (MANIFEST.md).
	pcaps := []string{"tls-expired-cert.pcap", "missing-intermediate.pcap"}
	if len(logs) != len(pcaps) {
		t.Fatalf("%d ssl.log sections, want %d", len(logs), len(pcaps))
	}
	store, err := decoder.LoadTrustStore(decoder.TrustMozilla, nil)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "### Certificate validation against Zeek's validate-certs\n\ntlsscope judged against %s, at each handshake's time.\n\n", store)
	md.WriteString("| capture | stream | server | chain sent | Zeek validation_status | tlsscope status | tlsscope's reason | mapping |\n|---|---:|---|---:|---|---|---|---|\n")
	compared, agreed := 0, 0
	for i, lg := range logs {
		ours := oursValidated(t, filepath.Join(base, "Traces/tls", pcaps[i]), store)
		for _, row := range lg.rows {
			port, _ := strconv.Atoi(row["id.orig_p"])
			c := ours[port]
			if c == nil || c.Validation == nil {
				t.Errorf("%s: no validated connection from port %d", pcaps[i], port)
				continue
			}
			v := c.Validation
			zeek := row["validation_status"]
			sent := len(strings.Split(row["cert_chain_fps"], ","))
			reason := ""
			if len(v.Problems) > 0 {
				reason = v.Problems[0].Detail
			}
			if v.IssuerSentIn != "" {
				reason += fmt.Sprintf(" (a client that has it cached would accept it: sent in stream %s)", v.IssuerSentIn)
			}
			var mapping string
			switch {
			case zeek == "certificate has expired":
				mapping = "expired ↔ expired"
				compared++
				if v.Status == decoder.StatusExpired {
					agreed++
				} else {
					t.Errorf("%s stream %d: Zeek says %q, tlsscope %s", pcaps[i], c.Stream, zeek, v.Status)
				}
			case zeek == "unable to get local issuer certificate":
				mapping = "issuer not found ↔ missing_intermediate or untrusted_root, with the reason"
				compared++
				if (v.Status == decoder.StatusMissingIntermediate || v.Status == decoder.StatusUntrustedRoot) && reason != "" && hasFinding(c, "chain_incomplete") {
					agreed++
				} else {
					t.Errorf("%s stream %d: Zeek says %q, tlsscope %s (%q)", pcaps[i], c.Stream, zeek, v.Status, reason)
				}
			case zeek == "ok" && sent == 1:
				mapping = "ok from Zeek's cache ↔ missing_intermediate, with the stream that sent it"
				compared++
				if v.Status == decoder.StatusMissingIntermediate && v.IssuerSentIn != "" && hasFinding(c, "chain_incomplete") {
					agreed++
				} else {
					t.Errorf("%s stream %d: Zeek says ok for a leaf alone, tlsscope %s (issuer sent in %q)", pcaps[i], c.Stream, v.Status, v.IssuerSentIn)
				}
			case zeek == "ok" && v.Status == decoder.StatusValid:
				mapping = "ok ↔ valid"
				compared++
				agreed++
			case zeek == "ok":
				mapping = "not asserted: the root of 2014 is not in today's Mozilla list"
			default:
				mapping = "not asserted"
			}
			fmt.Fprintf(&md, "| %s | %d | %s | %d | %s | %s | %s | %s |\n", pcaps[i], c.Stream, c.Server, sent, zeek, v.Status,
				strings.ReplaceAll(reason, "|", "\\|"), mapping)
		}
	}
	fmt.Fprintf(&md, "\n%d of %d asserted rows agree.\n", agreed, compared)
	if compared < 4 {
		t.Errorf("only %d rows asserted", compared)
	}
	t.Log("\n" + md.String())
	if *reportFile != "" {
		if f, err := os.OpenFile(*reportFile, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
			fmt.Fprintf(f, "\n%s", md.String())
			f.Close()
		}
	}
}

func hasFinding(c *report.Connection, code string) bool {
	return slices.ContainsFunc(c.Findings, func(f report.Finding) bool { return f.Code == code })
}
