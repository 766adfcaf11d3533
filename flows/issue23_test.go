package flows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// Issue #23: answers that were wrong on real stacks' captures
// (testdata/netlab), pinned here by the facts, not by the goldens.

// analyzeWithKeys is analyze with the key log keys ("" for none).
func analyzeWithKeys(t *testing.T, file, keys string) []*Result {
	t.Helper()
	rs, _ := analyzeKeyLog(t, file, keys)
	return rs
}

// analyzeKeyLog is analyzeWithKeys, with the key log read (nil: none).
func analyzeKeyLog(t *testing.T, file, keys string) ([]*Result, *decoder.KeyLog) {
	t.Helper()
	opts := DefaultOptions
	if keys != "" {
		log := decoder.NewKeyLog()
		f, err := os.Open(keys)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, bad, err := log.Add(keys, f); err != nil || len(bad) > 0 {
			t.Fatal(err, bad)
		}
		opts.KeyLog = log
	}
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	a := NewAnalyzer(opts)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	return a.Finish(), opts.KeyLog
}

// netlabBoth is a netlab scenario's two captures, client's and server's.
func netlabBoth(name string) []string {
	return []string{testdata + "/netlab/" + name + ".client.pcap", testdata + "/netlab/" + name + ".server.pcap"}
}

// TestPlaintextAlertTLS13: OpenSSL's TLS 1.3 client rejects the server's
// certificate before it has its handshake keys, so its unknown_ca alert
// is a 2-byte record in the clear. It was "encrypted alert from client",
// and with the key log "partial" (that record counted as unopened).
func TestPlaintextAlertTLS13(t *testing.T) {
	keys := testdata + "/netlab/openssl-client-rejects-cert.keys"
	for _, file := range netlabBoth("openssl-client-rejects-cert") {
		for _, k := range []string{"", keys} {
			rs := analyzeWithKeys(t, file, k)
			if len(rs) != 1 {
				t.Fatalf("%s: %d connections", file, len(rs))
			}
			r := rs[0]
			if r.Outcome != Failed || r.Alert == nil || r.Alert.Encrypted || r.Alert.From != decoder.Client || r.Alert.Description != 48 || !r.Alert.Fatal() {
				t.Errorf("%s keys %q: %v, alert %+v; want failed by the client's fatal unknown_ca", file, k, r.Outcome, r.Alert)
			}
			if k != "" && r.HS.Decryption.Status != decoder.DecryptDecrypted {
				t.Errorf("%s: decryption %s (%s), want decrypted", file, r.HS.Decryption.Status, r.HS.Decryption.Reason)
			}
		}
	}
}

// cutPcap writes the first n packets of a classic pcap file into dir.
func cutPcap(t *testing.T, file string, n int, dir string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if b[0] == 0xa1 {
		order = binary.BigEndian
	}
	end := 24
	for i := 0; i < n && end+16 <= len(b); i++ {
		end += 16 + int(order.Uint32(b[end+8:]))
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%d.pcap", filepath.Base(file), n))
	if err := os.WriteFile(out, b[:end], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTLS13OwedWithKeys: a mutual TLS 1.3 handshake cut short, read with
// its key log. After the server's EncryptedExtensions and
// CertificateRequest it owes its Certificate; after its whole flight the
// client owes its own Certificate (both were said to owe Finished).
func TestTLS13OwedWithKeys(t *testing.T) {
	file := testdata + "/keys-tls13-mtls.pcap"
	for _, tc := range []struct {
		frames  int
		waiting decoder.Side
		next    decoder.MsgType
	}{
		{6, decoder.Server, decoder.MsgCertificate}, // ServerHello ... CertificateRequest
		{7, decoder.Client, decoder.MsgCertificate}, // ... Certificate, CertificateVerify, Finished
	} {
		rs := analyzeWithKeys(t, cutPcap(t, file, tc.frames, t.TempDir()), file[:len(file)-len(".pcap")]+".keys")
		if len(rs) != 1 || rs[0].Stall == nil {
			t.Fatalf("cut after frame %d: %d connections, or no stall", tc.frames, len(rs))
		}
		if s := rs[0].Stall; s.Waiting != tc.waiting || s.Next != OwedMsg(tc.next) {
			t.Errorf("cut after frame %d: %s owes %s, want %s owing %s", tc.frames, s.Waiting, s.Next, tc.waiting, tc.next)
		}
	}
}

// TestRenegotiation: OpenSSL's TLS 1.2 renegotiation asked for by the
// client (s_client's "R"), read with the key log, the second handshake
// under the first one's keys and its records under its own keys, found
// by the second ClientHello's random. Allowed, it was "partial" and its
// key log line "not seen in this capture"; refused (a warning
// no_renegotiation, then the client's fatal handshake_failure), the
// completed connection was "failed".
func TestRenegotiation(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		outcome  decoder.RenegotiationOutcome
		alert    string // the alert that refused it: from, level, description
	}{
		{"openssl-reneg", decoder.RenegotiationCompleted, ""},
		{"openssl-reneg-refused", decoder.RenegotiationRefused, "server warning no_renegotiation"},
	} {
		for _, file := range netlabBoth(tc.scenario) {
			rs, log := analyzeKeyLog(t, file, testdata+"/netlab/"+tc.scenario+".keys")
			if len(rs) != 1 {
				t.Fatalf("%s: %d connections", file, len(rs))
			}
			r := rs[0]
			if r.Outcome != Complete {
				t.Errorf("%s: %s (alert %+v), want complete: the first handshake completed", file, r.Outcome, r.Alert)
			}
			if d := r.HS.Decryption; d.Status != decoder.DecryptDecrypted {
				t.Errorf("%s: decryption %s (%s)", file, d.Status, d.Reason)
			}
			if n := log.Unused(); n != 0 {
				t.Errorf("%s: %d key log entries not used", file, n)
			}
			rn := r.HS.Renegotiations
			if len(rn) != 1 || rn[0].By != decoder.Client || rn[0].Outcome != tc.outcome || rn[0].Frame != 13 || len(rn[0].ClientRandom) != 32 {
				t.Fatalf("%s: renegotiations %+v, want one by the client at frame 13, %s", file, rn, tc.outcome)
			}
			alert := ""
			if a := rn[0].Alert; a != nil {
				alert = a.From.String() + " " + a.LevelName() + " " + a.DescriptionName()
			}
			if alert != tc.alert {
				t.Errorf("%s: refused by %q, want %q", file, alert, tc.alert)
			}
		}
	}
}

// TestQUICNewHelloAfterRetry: a QUIC client that makes a new ClientHello
// after the server's Retry (capgen's retry-new-hello) has its key log
// line under that second ClientHello's random: the keys are looked up by
// it, and the Handshake and 1-RTT packets open. They stayed closed, the
// first ClientHello's random being in no key log.
func TestQUICNewHelloAfterRetry(t *testing.T) {
	file := testdata + "/quic/retry-new-hello"
	rs := analyzeWithKeys(t, file+".pcap", file+".keys")
	if len(rs) != 1 {
		t.Fatalf("%d connections", len(rs))
	}
	r := rs[0]
	hs := r.HS
	if r.Outcome != Complete || hs.ClientHello == nil || hs.RetryClientHello == nil || bytes.Equal(hs.ClientHello.Random, hs.RetryClientHello.Random) {
		t.Fatalf("%s; want complete with two ClientHellos of different randoms", r.Outcome)
	}
	if hs.LatestClientHello() != hs.RetryClientHello {
		t.Errorf("the handshake's ClientHello is not the one after the Retry")
	}
	alpn := ""
	if hs.EncryptedExtensions != nil {
		alpn = hs.EncryptedExtensions.ALPN
	}
	if alpn != "h3" || len(hs.ServerCertificates) != 2 || len(hs.SessionTickets) != 1 {
		t.Errorf("ALPN %q, %d certificates, %d tickets: want the Handshake and 1-RTT packets opened", alpn, len(hs.ServerCertificates), len(hs.SessionTickets))
	}
	for _, p := range hs.Problems {
		t.Errorf("problem: %s", p.Err)
	}
	// The same ClientHello sent again after a Retry (quic-go) is not a
	// second one.
	rs = analyzeWithKeys(t, testdata+"/quic/retry.pcap", testdata+"/quic/retry.keys")
	if len(rs) != 1 || rs[0].HS.RetryClientHello != nil || len(rs[0].HS.ServerCertificates) != 2 {
		t.Errorf("retry.pcap: the ClientHello sent again is read as a new one, or the keys were not found")
	}
}

// TestTicketsAfterVerdict: TLS 1.3 servers that send two
// NewSessionTickets in two records (OpenSSL, nginx) had only the first
// read with the key log: the second came after the verdict, when only
// records of alert size were opened. tshark reads both.
func TestTicketsAfterVerdict(t *testing.T) {
	for _, scenario := range []string{"openssl-tls13-keylog", "curl-nginx-keylog", "openssl-keyupdate"} {
		for _, file := range netlabBoth(scenario) {
			rs := analyzeWithKeys(t, file, testdata+"/netlab/"+scenario+".keys")
			if len(rs) != 1 {
				t.Fatalf("%s: %d connections", file, len(rs))
			}
			if n := len(rs[0].HS.SessionTickets); n != 2 {
				t.Errorf("%s: %d NewSessionTickets read, want 2", file, n)
			}
		}
	}
}
