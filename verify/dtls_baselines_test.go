package verify

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

// dtlsBaseline is a Zeek ssl.log (or one section of it) and the capture it
// was made from (MANIFEST.md's DTLS section, whose rows name the baseline
// in words, so they are listed here).
type dtlsBaseline struct {
	log     string // under Baseline/
	section int    // the #path ssl section, counted from 0; -1 for every one
	capture string // under ../shared/captures
}

var dtlsBaselines = []dtlsBaseline{
	{"scripts.base.protocols.ssl.dtls/ssl.log", -1, "zeek/testing/btest/Traces/tls/dtls1_0.pcap"},
	{"scripts.base.protocols.ssl.dtls/ssl1_2.log", -1, "zeek/testing/btest/Traces/tls/dtls1_2.pcap"},
	{"scripts.base.protocols.ssl.dtls-13/ssl-all.log", 0, "zeek/testing/btest/Traces/tls/dtls13-wolfssl.pcap"},
	{"scripts.base.protocols.ssl.dtls-13/ssl-all.log", 1, "zeek/testing/btest/Traces/tls/dtls13-cid.pcap"},
	{"scripts.base.protocols.ssl.dtls-stun-dpd/ssl.log", -1, "zeek/testing/btest/Traces/tls/webrtc-stun.pcap"},
	// keyexchange's ssl-all.log logs the two DTLS traces too (its fifth
	// and sixth sections), with the offered suites by name.
	{"scripts.base.protocols.ssl.keyexchange/ssl-all.log", 4, "zeek/testing/btest/Traces/tls/dtls1_0.pcap"},
	{"scripts.base.protocols.ssl.keyexchange/ssl-all.log", 5, "zeek/testing/btest/Traces/tls/dtls1_2.pcap"},
}

// dtlsX509 are the x509.log baselines of the DTLS traces.
var dtlsX509 = []dtlsBaseline{
	{"scripts.base.protocols.ssl.dtls/x509.log", -1, "zeek/testing/btest/Traces/tls/dtls1_0.pcap"},
	{"scripts.base.protocols.ssl.dtls/x5091_2.log", -1, "zeek/testing/btest/Traces/tls/dtls1_2.pcap"},
}

var zeekDTLSFields = []string{"version", "cipher", "curve", "server_name", "resumed", "last_alert", "established",
	"cert_chain_fps", "client_cert_chain_fps", "client_cipher_suites"}

// zeekDTLS is zeekSSL with the columns only DTLS baselines use here.
func zeekDTLS(c *report.Connection) map[string]string {
	m := zeekSSL(c)
	var fps []string
	for _, x := range c.ClientCertificates {
		fps = append(fps, x.SHA256)
	}
	// Zeek makes both chains (empty vectors) at the first certificate it
	// sees in either direction: with none seen, both stay unset ("-").
	m["client_cert_chain_fps"] = "-"
	if len(c.Certificates) > 0 {
		m["client_cert_chain_fps"] = "(empty)"
	}
	if len(fps) > 0 {
		m["client_cert_chain_fps"] = strings.Join(fps, ",")
	}
	m["client_cipher_suites"] = "-"
	if c.ClientHello != nil {
		m["client_cipher_suites"] = strings.Join(c.ClientHello.CipherSuites, ",")
	}
	return m
}

// TestDTLSBaselines compares tlsscope's DTLS associations with the ssl.log
// and x509.log Zeek's own DTLS tests expect on the same traces, and checks
// the negative (DNS that is not DTLS).
func TestDTLSBaselines(t *testing.T) {
	testenv.NeedShared(t, "..")
	ex := readExceptions(t, "baseline_exceptions.tsv")
	byField := map[string]*tally{}
	base := filepath.Join(shared, "zeek/testing/btest/Baseline")
	cache := map[string][]*report.Connection{}
	load := func(capture string) []*report.Connection {
		if cache[capture] == nil {
			cache[capture] = oursDTLS(t, filepath.Join(shared, capture), "")
		}
		return cache[capture]
	}
	rows := 0
	for _, b := range dtlsBaselines {
		logs, err := readZeekLog(filepath.Join(base, b.log))
		if err != nil {
			t.Fatal(err)
		}
		n := -1
		for _, lg := range logs {
			if lg.path != "ssl" {
				continue
			}
			n++
			if b.section >= 0 && n != b.section {
				continue
			}
			for _, row := range lg.rows {
				rows++
				id := row["id.orig_h"] + ":" + row["id.orig_p"]
				orig, resp := endpoint(row["id.orig_h"], row["id.orig_p"]), endpoint(row["id.resp_h"], row["id.resp_p"])
				// Zeek's originator is the first sender of the UDP flow:
				// on webrtc-stun that is the STUN client, the DTLS
				// server. tlsscope's client is the DTLS client.
				var c *report.Connection
				for _, cc := range load(b.capture) {
					if cc.Client == orig && cc.Server == resp || cc.Client == resp && cc.Server == orig {
						c = cc
					}
				}
				if c == nil {
					countField(t, byField, ex, "zeek dtls connection", b.log, id, b.capture, orig+"→"+resp, "")
					continue
				}
				got := zeekDTLS(c)
				for _, f := range zeekDTLSFields {
					if want, ok := row[f]; ok {
						countField(t, byField, ex, "zeek dtls "+f, b.log, id, b.capture, want, got[f])
					}
				}
			}
		}
	}
	for _, b := range dtlsX509 {
		logs, err := readZeekLog(filepath.Join(base, b.log))
		if err != nil {
			t.Fatal(err)
		}
		for _, lg := range logs {
			for _, row := range lg.rows {
				fp := row["fingerprint"]
				var found *report.Certificate
				for _, cc := range load(b.capture) {
					for _, x := range append(append([]report.Certificate{}, cc.Certificates...), cc.ClientCertificates...) {
						if x.SHA256 == fp {
							found = &x
						}
					}
				}
				if found == nil {
					countField(t, byField, ex, "zeek dtls x509 certificate", b.log, fp[:16], b.capture, fp, "")
					continue
				}
				got := zeekX509(*found)
				for _, f := range zeekX509Fields {
					if want, ok := row[f]; ok {
						countField(t, byField, ex, "zeek dtls x509 "+f, b.log, fp[:16], b.capture, want, got[f])
					}
				}
			}
		}
	}
	// dtls-no-dtls: Zeek's .stdout is empty (no DTLS event) on this DNS
	// trace; tlsscope must find no DTLS either.
	const dns = "zeek/testing/btest/Traces/dns-txt-multiple.pcap"
	countField(t, byField, ex, "zeek dtls no_dtls", "scripts.base.protocols.ssl.dtls-no-dtls/.stdout", "*", dns, "0", strconv.Itoa(len(load(dns))))
	for _, e := range ex {
		if !e.used && strings.Contains(e.field, "zeek dtls") {
			t.Errorf("baseline_exceptions.tsv: %s %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	table, total := tallyTable("DTLS against Zeek's ssl.log and x509.log", byField)
	t.Log("\n" + table)
	dtlsSections = append(dtlsSections, table)
	if rows != 11 {
		t.Errorf("%d ssl.log rows of DTLS baselines, want 11 (dtls 1, dtls 1.2 1, dtls-13 1+5, stun 1, keyexchange 2)", rows)
	}
	if total.compared < 60 {
		t.Errorf("only %d DTLS baseline fields compared, want at least 60", total.compared)
	}
}
