package flows

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

const testdata = "../testdata"

// sharedCaptures is the corpus of other projects' captures beside the
// checkout; tests that use it skip when it is absent.
const sharedCaptures = "../../shared/captures"

func analyze(t testing.TB, files ...string) ([]*Result, *Analyzer) {
	t.Helper()
	var srcs []capture.Source
	for _, f := range files {
		s, err := capture.OpenFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	m := capture.NewMerge(srcs)
	defer m.Close()
	a := NewAnalyzer(DefaultOptions)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	return a.Finish(), a
}

type want struct {
	stream  int
	outcome Outcome
	waiting string // "client" or "server" when stalled or incomplete
	next    string
	silent  time.Duration // at least
	by      string        // alert sender for failed, closer for reset
}

// TestVerdicts checks the verdict of every connection of the generated
// captures: what each scenario was made to show.
func TestVerdicts(t *testing.T) {
	cases := map[string][]want{
		"demo.pcapng": {{stream: 0, outcome: Complete}, {stream: 1, outcome: Failed, by: "server"},
			{stream: 2, outcome: Stalled, waiting: "server", next: "ServerHello", silent: 5 * time.Second}},
		"tls12-ecdhe-ticket.pcap":        {{stream: 0, outcome: Complete}},
		"tls12-rsa-kex.pcap":             {{stream: 0, outcome: Complete}},
		"tls12-resume-ticket.pcap":       {{stream: 0, outcome: Complete}, {stream: 1, outcome: Resumed}},
		"tls13-full.pcap":                {{stream: 0, outcome: Complete}},
		"tls13-psk-resume.pcap":          {{stream: 0, outcome: Complete}, {stream: 1, outcome: Resumed}},
		"tls13-hrr.pcap":                 {{stream: 0, outcome: Complete}},
		"tls12-client-cert.pcap":         {{stream: 0, outcome: Complete}},
		"alert-server-refuses.pcap":      {{stream: 0, outcome: Failed, by: "server"}},
		"alert-client-rejects-cert.pcap": {{stream: 0, outcome: Failed, by: "client"}},
		"cert-problems.pcap": {{stream: 0, outcome: Complete}, {stream: 1, outcome: Failed, by: "client"}, {stream: 2, outcome: Failed, by: "client"},
			{stream: 3, outcome: Failed, by: "client"}, {stream: 4, outcome: Failed, by: "client"}, {stream: 5, outcome: Failed, by: "client"},
			{stream: 6, outcome: Failed, by: "client"}, {stream: 7, outcome: Failed, by: "client"}, {stream: 8, outcome: Complete},
			{stream: 9, outcome: Failed, by: "client"}, {stream: 10, outcome: Closed, by: "client"}},
		"stall-server-silent.pcap":       {{stream: 0, outcome: Stalled, waiting: "server", next: "ServerHello", silent: 5 * time.Second}},
		"stall-after-server-flight.pcap": {{stream: 0, outcome: Stalled, waiting: "server", next: "ChangeCipherSpec", silent: 5 * time.Second}},
		"reset-after-client-hello.pcap":  {{stream: 0, outcome: Reset, by: "server"}},
		"split-client-hello.pcap":        {{stream: 0, outcome: Complete}},
		"server-flight-shuffled.pcap":    {{stream: 0, outcome: Complete}},
		"midstream.pcap":                 {{stream: 0, outcome: Complete}},
		"ipv6.pcap":                      {{stream: 0, outcome: Complete}},
		"vlan.pcap":                      {{stream: 0, outcome: Complete}},
		"sll2.pcap":                      {{stream: 0, outcome: Complete}},
		"two-interfaces.pcapng":          {{stream: 0, outcome: Complete}, {stream: 1, outcome: Complete}},
		"expired-cert.pcap":              {{stream: 0, outcome: Complete}},
		"sni-mismatch.pcap":              {{stream: 0, outcome: Complete}},
		"closed-after-client-hello.pcap": {{stream: 0, outcome: Closed}},
		// The tool dropped 3 packets while the server was silent: not
		// stalled, though the stall facts stay (drops_test.go).
		"capture-dropped.pcapng": {{stream: 0, outcome: Incomplete, waiting: "server", next: "ServerHello", silent: 5 * time.Second},
			{stream: 1, outcome: Complete}, {stream: 2, outcome: Complete}},
		"incomplete-capture-ends.pcap": {{stream: 0, outcome: Incomplete, waiting: "server", next: "ServerHello", silent: 400 * time.Millisecond},
			{stream: 1, outcome: Complete}},
		"after-handshake.pcap":                 {{stream: 0, outcome: NotObserved}},
		"tcp-refused.pcap":                     {{stream: 0, outcome: Reset, by: "server"}},
		"tcp-syn-unanswered.pcap":              {{stream: 0, outcome: Stalled, waiting: "server", next: "SYN-ACK", silent: 7 * time.Second}},
		"alert-tls13-client-rejects-cert.pcap": {{stream: 0, outcome: Failed, by: "client"}},
		// Issue #14: what the capture hides, and faults on the path.
		"midstream-teardown-tls12.pcap": {{stream: 0, outcome: NotObserved}},
		"tls13-no-alpn.pcap":            {{stream: 0, outcome: Complete}},
		"client-gives-up.pcap":          {{stream: 0, outcome: Closed, waiting: "server", next: "ServerHello", silent: 500 * time.Millisecond, by: "client"}},
		"one-sided-client-only.pcap": {{stream: 0, outcome: Incomplete, waiting: "server", next: "ServerHello"},
			{stream: 1, outcome: Incomplete, waiting: "server", next: "ServerHello", silent: 5 * time.Second}},
		"server-fin-client-alert.pcap": {{stream: 0, outcome: Closed, waiting: "server", next: "ServerHello", by: "server"}},
		"server-not-tls.pcap":          {{stream: 0, outcome: Closed, waiting: "server", next: "ServerHello", by: "server"}},
		"socks5-two.pcap":              {{stream: 0, outcome: Complete}, {stream: 2, outcome: Complete}},
		"socks5-interleaved.pcap": {{stream: 0, outcome: Complete}, {stream: 1, outcome: Complete}, {stream: 3, outcome: Complete},
			{stream: 4, outcome: Complete}},
		"tls13-server-alert-after-client-finished.pcap": {{stream: 0, outcome: Failed, by: "server"}},
		"capture-gap-certificate.pcap":                  {{stream: 0, outcome: Complete}},
		// Seen from the client, the server's flight never arrived: the
		// server owes its ServerHello; seen from the server, it sent it
		// again and again and the client never acknowledged it: the same.
		"mtu-blackhole-client-side.pcap": {{stream: 0, outcome: Stalled, waiting: "server", next: "ServerHello", silent: 5 * time.Second}},
		"mtu-blackhole-server-side.pcap": {{stream: 0, outcome: Stalled, waiting: "server", next: "ServerHello", silent: 5 * time.Second}},
		"mtu-icmp-frag-needed.pcap":      {{stream: 0, outcome: Complete}},
		"ipv6-packet-too-big.pcap":       {{stream: 0, outcome: Complete}},
		// The ClientHello never reached the server, whatever the vantage.
		"client-hello-tail-server-side.pcap": {{stream: 0, outcome: Stalled, waiting: "client", next: "ClientHello", silent: 5 * time.Second}},
		"client-hello-lost-client-side.pcap": {{stream: 0, outcome: Stalled, waiting: "client", next: "ClientHello", silent: 5 * time.Second}},
		// Only the first segment of the ClientHello reached the server: the
		// client owes the rest, silent until the capture ends 5 s later.
		"client-hello-head-server-side.pcap": {{stream: 0, outcome: Stalled, waiting: "client", next: "ClientHello", silent: 4071100 * time.Microsecond}, {stream: 1, outcome: Complete}},
		// Silent past the idle timeout: at least that long, stalled.
		"stall-idle-timeout.pcap":            {{stream: 0, outcome: Stalled, waiting: "server", next: "ServerHello", silent: 5 * time.Minute}, {stream: 1, outcome: Complete}},
		"client-hello-lost-long-wait.pcap":   {{stream: 0, outcome: Stalled, waiting: "client", next: "ClientHello", silent: 60 * time.Second}},
		"reset-injected-ttl.pcap":            {{stream: 0, outcome: Reset, by: "server", waiting: "server", next: "ServerHello"}},
		"reset-injected-server-goes-on.pcap": {{stream: 0, outcome: Reset, by: "server", waiting: "server", next: "ServerHello"}},
		"icmp-port-unreachable.pcap":         {{stream: 0, outcome: Reset, waiting: "server", next: "SYN-ACK", silent: 3 * time.Second}},
		"icmp-admin-prohibited.pcap":         {{stream: 0, outcome: Reset, waiting: "server", next: "SYN-ACK", silent: 3 * time.Second}},
		// Issue #15's, read here without their key logs (report's
		// TestDecryption reads them with); the DSB one decrypts itself.
		"keys-tls12-aes256gcm.pcap":           {{stream: 0, outcome: Complete}},
		"keys-tls12-alert.pcap":               {{stream: 0, outcome: Complete}},
		"keys-tls12-cbc-sha256.pcap":          {{stream: 0, outcome: Complete}},
		"keys-tls12-cbc.pcap":                 {{stream: 0, outcome: Complete}},
		"keys-tls12-chacha.pcap":              {{stream: 0, outcome: Complete}},
		"keys-tls12-gcm.pcap":                 {{stream: 0, outcome: Complete}},
		"keys-tls12-resume-ticket.pcap":       {{stream: 0, outcome: Complete}, {stream: 1, outcome: Resumed}},
		"keys-tls12-rsa.pcap":                 {{stream: 0, outcome: Complete}},
		"keys-tls13-aes128.pcap":              {{stream: 0, outcome: Complete}},
		"keys-tls13-aes256.pcap":              {{stream: 0, outcome: Complete}},
		"keys-tls13-chacha.pcap":              {{stream: 0, outcome: Complete}},
		"keys-tls13-client-rejects-cert.pcap": {{stream: 0, outcome: Failed, by: "client"}},
		"keys-tls13-dsb.pcapng":               {{stream: 0, outcome: Complete}},
		"keys-tls13-hrr.pcap":                 {{stream: 0, outcome: Complete}},
		"keys-tls13-mtls.pcap":                {{stream: 0, outcome: Complete}},
		"keys-tls13-tickets.pcap":             {{stream: 0, outcome: Complete}, {stream: 1, outcome: Resumed}},
		"keys-tls13-wrong-keys.pcap":          {{stream: 0, outcome: Complete}},
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	if len(files) != len(cases) {
		t.Errorf("%d captures in testdata, %d with expectations here", len(files), len(cases))
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			results, _ := analyze(t, filepath.Join(testdata, name))
			if len(results) != len(wants) {
				t.Fatalf("%d connections, want %d", len(results), len(wants))
			}
			for i, w := range wants {
				r := results[i]
				if r.Stream != w.stream || r.Outcome != w.outcome {
					t.Errorf("connection %d: stream %d %s, want stream %d %s", i, r.Stream, r.Outcome, w.stream, w.outcome)
					continue
				}
				if w.waiting != "" {
					if r.Stall == nil {
						t.Errorf("stream %d: no stall facts", r.Stream)
						continue
					}
					if r.Stall.Waiting.String() != w.waiting || r.Stall.Next.String() != w.next || r.Stall.Silent < w.silent || r.Stall.Silent > w.silent+time.Second {
						t.Errorf("stream %d: waiting for %s to send %s, silent %v; want %s, %s, %v", r.Stream,
							r.Stall.Waiting, r.Stall.Next, r.Stall.Silent, w.waiting, w.next, w.silent)
					}
				}
				switch {
				case w.outcome == Failed && (r.Alert == nil || r.Alert.From.String() != w.by):
					t.Errorf("stream %d: alert %+v, want one from the %s", r.Stream, r.Alert, w.by)
				case w.outcome == Reset && w.by == "" && r.EndedBy != EndedICMP:
					t.Errorf("stream %d: ended by %s, want an ICMP error", r.Stream, r.EndedBy)
				case (w.outcome == Reset || w.outcome == Closed) && w.by != "" && (r.ClosedBy == nil || r.ClosedBy.String() != w.by):
					t.Errorf("stream %d: reset by %v, want %s", r.Stream, r.ClosedBy, w.by)
				}
			}
		})
	}
}

// TestTCPFacts checks the TCP-level facts the shaped captures were made with.
func TestTCPFacts(t *testing.T) {
	results, _ := analyze(t, filepath.Join(testdata, "server-flight-shuffled.pcap"))
	f := results[0].TCP
	if f.Side[decoder.Server].OutOfOrder != 1 || f.Side[decoder.Server].Retransmissions != 1 || f.ServerFlightRetransmitted != 1 || !f.ServerFlightAcked {
		t.Errorf("server flight: out of order %d, retransmitted %d (flight %d, acked %v); want 1, 1 (1, true)",
			f.Side[decoder.Server].OutOfOrder, f.Side[decoder.Server].Retransmissions, f.ServerFlightRetransmitted, f.ServerFlightAcked)
	}
	results, _ = analyze(t, filepath.Join(testdata, "split-client-hello.pcap"))
	if f := results[0].TCP; f.ClientHelloSegments != 2 || !f.ClientHelloAcked {
		t.Errorf("split ClientHello: %d segments, acked %v; want 2, true", f.ClientHelloSegments, f.ClientHelloAcked)
	}
	results, _ = analyze(t, filepath.Join(testdata, "midstream.pcap"))
	if r := results[0]; !r.Midstream || r.HS.ClientHello != nil || r.HS.ServerHello == nil {
		t.Errorf("midstream: midstream %v, ClientHello %v, ServerHello %v", r.Midstream, r.HS.ClientHello != nil, r.HS.ServerHello != nil)
	}
}

// TestStreamNumbersMatchTShark: every connection that carries a ClientHello
// is found under the same number as Wireshark's tcp.stream.
func TestStreamNumbersMatchTShark(t *testing.T) {
	testenv.TShark(t)
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	files = append(files, testenv.CorpusIfPresent(t, "..")...)
	testenv.PrefetchHandshakes(t, files)
	total := 0
	for _, f := range files {
		frames, err := testenv.TSharkHandshakes(t, f)
		if err != nil {
			continue // tshark refuses some damaged files; our own reading of them is tested elsewhere
		}
		results, _ := analyze(t, f)
		byStream := map[int]*Result{}
		for _, r := range results {
			if r.Transport != TransportTCP {
				continue // QUIC: udp.stream numbers
			}
			byStream[r.Stream] = r
		}
		for _, fr := range frames {
			if !fr.Has("tls.handshake.type", "1") {
				continue
			}
			fs := []string{fr.First("tcp.stream"), fr.First("tcp.srcport"), fr.First("tcp.dstport")}
			stream, _ := strconv.Atoi(fs[0])
			total++
			r := byStream[stream]
			if r == nil {
				t.Errorf("%s: tshark has a ClientHello on tcp.stream %d (%s→%s); we have no connection %d", f, stream, fs[1], fs[2], stream)
				continue
			}
			if strconv.Itoa(int(r.Client.Port())) != fs[1] || strconv.Itoa(int(r.Server.Port())) != fs[2] {
				t.Errorf("%s: stream %d is %v→%v here, %s→%s in tshark", f, stream, r.Client, r.Server, fs[1], fs[2])
			}
			if r.HS.ClientHello == nil {
				t.Errorf("%s: stream %d: tshark sees a ClientHello, we do not", f, stream)
			}
		}
	}
	t.Logf("%d ClientHello streams compared with tshark over %d files", total, len(files))
}

// TestSharedCapturesDecodeWithoutPanic reads every capture of the corpus.
func TestSharedCapturesDecode(t *testing.T) {
	for _, f := range sharedFiles(t) {
		s, err := capture.OpenFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		m := capture.NewMerge([]capture.Source{s})
		a := NewAnalyzer(DefaultOptions)
		if err := a.Run(m); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		a.Finish()
		m.Close()
		if strings.Contains(f, "bug-1450-04") {
			if len(m.Warnings) == 0 {
				t.Errorf("%s: the damaged file should give a warning", f)
			}
		} else if len(m.Warnings) > 0 {
			t.Errorf("%s: %v", f, m.Warnings)
		}
	}
}

func sharedFiles(t *testing.T) []string { return testenv.SharedCaptures(t, "..") }
