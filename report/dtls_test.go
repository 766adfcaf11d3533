package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// dtlsCodes are the findings about DTLS's transport and the path.
var dtlsCodes = []string{"hello_verify_request", "client_hello_retransmitted", "server_flight_retransmitted", "path_mtu_blackhole", "path_mtu", "deprecated_version"}

// TestDTLSFindings pins the DTLS findings of each real-stack capture
// (internal/netlab's dtls-* scenarios), each citing frames.
func TestDTLSFindings(t *testing.T) {
	hvr := []string{"hello_verify_request"}
	want := map[string][]string{
		"dtls-openssl-listen":          hvr,
		"dtls-openssl-nolisten":        hvr,
		"dtls-openssl-dtls10":          {"hello_verify_request", "deprecated_version"},
		"dtls-openssl-mtu":             hvr,
		"dtls-gnutls":                  hvr,
		"dtls-pion-srtp":               nil,
		"dtls-pion-dtls13":             nil,
		"dtls-client-rejects-cert":     hvr,
		"dtls-no-answer.client":        {"client_hello_retransmitted"},
		"dtls-no-answer.server":        {"hello_verify_request", "client_hello_retransmitted"},
		"dtls-drop-flight-once.client": {"hello_verify_request", "client_hello_retransmitted"},
		"dtls-drop-flight-once.server": {"hello_verify_request", "client_hello_retransmitted", "server_flight_retransmitted"},
		// The client's capture shows the server's flight again too.
		"dtls-mtu-blackhole.client": {"client_hello_retransmitted", "server_flight_retransmitted", "path_mtu_blackhole"},
		"dtls-mtu-blackhole.server": {"client_hello_retransmitted", "server_flight_retransmitted", "path_mtu_blackhole"},
		"dtls-mtu-icmp.client":      {"client_hello_retransmitted", "server_flight_retransmitted"},
		"dtls-mtu-icmp.server":      {"path_mtu", "client_hello_retransmitted", "server_flight_retransmitted"},
		"dtls-cookie-lost.client":   {"hello_verify_request", "client_hello_retransmitted"},
		"dtls-cookie-lost.server":   hvr,
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "netlab", "dtls-*.pcap"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pcap")
		w, ok := want[name]
		if !ok {
			w, ok = want[strings.TrimSuffix(strings.TrimSuffix(name, ".client"), ".server")]
		}
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		conns := connections(t, f)
		if len(conns) != 1 {
			t.Fatalf("%s: %d connections", name, len(conns))
		}
		var got []string
		for _, fd := range conns[0].Findings {
			if slices.Contains(dtlsCodes, fd.Code) {
				got = append(got, fd.Code)
				if len(fd.Frames) == 0 {
					t.Errorf("%s: %s cites no frame", name, fd.Code)
				}
			}
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: findings %v, want %v", name, got, w)
		}
	}
}

// TestDTLSOutputs: a DTLS association is named like a QUIC connection in
// every format, with its own transport, version and JA4 prefix.
func TestDTLSOutputs(t *testing.T) {
	f := filepath.Join(testdata, "netlab", "dtls-no-answer.client.pcap")
	conns := connections(t, f)
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	c := conns[0]
	if want := "stalled: the client sent its ClientHello 4 times in 7.1 s, no answer (server owes HelloVerifyRequest or ServerHello)"; c.Verdict != want {
		t.Errorf("verdict %q, want %q", c.Verdict, want)
	}
	var j map[string]any
	if err := json.Unmarshal(render(t, "json", conns, false), &j); err != nil {
		t.Fatal(err)
	}
	ch, _ := j["client_hello"].(map[string]any)
	if j["transport"] != "dtls" || j["stream"] != 0.0 || j["dtls"] == nil || ch == nil || !strings.HasPrefix(ch["ja4"].(string), "dd2") {
		t.Errorf("JSON transport %v stream %v dtls %v client_hello %v", j["transport"], j["stream"], j["dtls"], ch)
	}
	for format, want := range map[string]string{"table": "udp 0", "csv": "udp 0,", "markdown": "udp.stream eq 0", "html": `stream-udp-0`, "ecs": `"protocol":"dtls"`, "json": `"transport":"dtls"`} {
		var b bytes.Buffer
		w, err := NewWriter(format, &b, Options{Detail: true, Inputs: []string{"capture"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(connections(t, f)[0]); err != nil { // a writer may let go of what it wrote
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s output lacks %q", format, want)
		}
	}
	if out := string(render(t, "table", connections(t, f), true)); !strings.Contains(out, "udp.stream eq 0") {
		t.Errorf("detail lacks the display filter")
	}
	srtp := connections(t, filepath.Join(testdata, "netlab", "dtls-pion-srtp.client.pcap"))[0]
	if srtp.ServerHello.SRTPProfile != "SRTP_AEAD_AES_128_GCM" || len(srtp.ClientHello.SRTPProfiles) != 4 {
		t.Errorf("use_srtp: chosen %q, offered %v", srtp.ServerHello.SRTPProfile, srtp.ClientHello.SRTPProfiles)
	}
}

// TestDTLSCaptureViewFindings: a capture without the server's datagrams,
// and one that begins after the handshake, say so in DTLS's words.
func TestDTLSCaptureViewFindings(t *testing.T) {
	src := filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap")
	codes := func(c *Connection) (out []string) {
		for _, f := range c.Findings {
			out = append(out, f.Code+": "+f.Message)
		}
		return out
	}
	c := connections(t, testenv.KeepFrames(t, src, func(f int) bool { return f == 3 || f == 5 || f == 7 || f == 9 || f == 10 }))[0]
	if got := strings.Join(codes(c), "\n"); !strings.Contains(got, "one_sided_capture: The capture holds no datagram from the server, though the client went on as if answered (5 datagrams)") {
		t.Errorf("client's datagrams only:\n%s", got)
	}
	c = connections(t, testenv.KeepFrames(t, src, func(f int) bool { return f >= 9 }))[0]
	if got := strings.Join(codes(c), "\n"); !strings.Contains(got, "midstream: The capture starts after this association began") {
		t.Errorf("after the handshake:\n%s", got)
	}
}
