package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The DTLS scenarios (issue #26): OpenSSL, GnuTLS and pion/dtls over UDP
// between the same namespaces, with faults made in the router. tlsscope
// cannot read DTLS yet: Expect says what a correct analyzer should say
// (outcome, findings, and the reason in words) and is not checked against
// tlsscope (netlab_dtls_test.go); the captures themselves are checked
// with tshark.
func init() {
	Scenarios = append(Scenarios, dtlsScenarios...)
}

// dtlsPort is the server's UDP port: OpenSSL's default, which Wireshark
// also reads as DTLS.
const dtlsPort = 4433

var dtlsServerAddr = fmt.Sprintf("%s:%d", serverAddr, dtlsPort)

// isDTLS reports a DTLS scenario by its name.
func isDTLS(name string) bool { return strings.HasPrefix(name, "dtls-") }

// udpServer starts the scenario's server and waits until it has bound
// the UDP port.
func (r *Run) udpServer(args ...string) error {
	// A standard input that stays open and silent while the server runs:
	// s_server ends at EOF on its standard input, and its -ign_eof does
	// not apply to DTLS.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	p, err := startIn(nsServer, "server", pr, nil, args...)
	pr.Close()
	if err != nil {
		pw.Close()
		return err
	}
	go func() {
		<-p.done
		pw.Close()
	}()
	r.srv, r.ServerCmd = p, strings.Join(args, " ")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := in(nsServer, "ss", "-Hlun", fmt.Sprintf("sport = :%d", dtlsPort))
		if strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before binding: %s", p.name, strings.TrimSpace(p.output()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s has not bound udp %d after 10 s: %s", p.name, dtlsPort, strings.TrimSpace(p.output()))
}

// opensslDTLSServer is s_server over UDP with set's chain, one
// connection, printing what it reads; extra says the version and whether
// it listens for cookies (-listen).
func (r *Run) opensslDTLSServer(set certSet, extra ...string) error {
	args := []string{"openssl", "s_server", "-4", "-accept", fmt.Sprint(dtlsPort), "-cert", set.Leaf, "-cert_chain", set.CAs, "-key", set.Key, "-naccept", "1"}
	return r.udpServer(append(args, extra...)...)
}

// opensslDTLSClient runs s_client over UDP writing the key log: it sends
// a line half a second after it starts and closes (close_notify) at EOF
// tail later; timeout kills it if it is still waiting.
func (r *Run) opensslDTLSClient(tail, timeout time.Duration, extra ...string) {
	args := []string{"openssl", "s_client", "-4", "-connect", dtlsServerAddr, "-servername", serverName, "-keylogfile", r.Keys}
	r.clientSlow([]string{"hello over DTLS\n"}, 500*time.Millisecond, tail, timeout, append(args, extra...)...)
}

// pion builds internal/netlab/piondtls (its own module: pion stays out of
// tlsscope's binary) once per lab directory and returns the binary.
func (r *Run) pion() (string, error) {
	pionMu.Lock()
	defer pionMu.Unlock()
	bin := filepath.Join(filepath.Dir(r.Script), "piondtls")
	if pionBuilt[bin] {
		return bin, nil
	}
	src, err := pionSource()
	if err != nil {
		return "", err
	}
	if _, err := run("go", "build", "-C", src, "-o", bin, "."); err != nil {
		return "", err
	}
	pionBuilt[bin] = true
	return bin, nil
}

var (
	pionMu    sync.Mutex
	pionBuilt = map[string]bool{}
)

// pionSource is the directory of the piondtls module: beside this file.
func pionSource() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Join(filepath.Dir(file), "piondtls")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	for _, dir := range []string{"internal/netlab/piondtls", "piondtls"} {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Abs(dir)
		}
	}
	return "", fmt.Errorf("the piondtls module is not found beside internal/netlab")
}

// pionVersion is the pion/dtls version the piondtls module requires,
// for the manifest's stacks.
func pionVersion() [2]string {
	v := [2]string{"pion", "unknown"}
	src, err := pionSource()
	if err != nil {
		return v
	}
	f, err := os.Open(filepath.Join(src, "go.mod"))
	if err != nil {
		return v
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "require path version" or, in a block, "path version".
		fs := strings.Fields(sc.Text())
		if len(fs) > 0 && fs[0] == "require" {
			fs = fs[1:]
		}
		if len(fs) >= 2 && fs[0] == "github.com/pion/dtls/v4" {
			v[1] = "github.com/pion/dtls/v4 " + fs[1] + " (internal/netlab/piondtls, built with " + runtime.Version() + ")"
		}
	}
	return v
}

// pionServer runs the pion server on set's chain, DTLS version v,
// offering the WebRTC use_srtp profiles; extra are more flags
// (-no-cookie).
func (r *Run) pionServer(set certSet, v string, extra ...string) error {
	bin, err := r.pion()
	if err != nil {
		return err
	}
	args := []string{bin, "-mode", "server", "-addr", fmt.Sprintf("0.0.0.0:%d", dtlsPort), "-cert", set.Chain, "-key", set.Key, "-srtp", "-version", v, "-timeout", "10s"}
	return r.udpServer(append(args, extra...)...)
}

// pionClient runs the pion client, trusting set's CAs, writing the key
// log; it gives up by itself after timeout.
func (r *Run) pionClient(set certSet, v string, timeout time.Duration) {
	bin, err := r.pion()
	if err != nil {
		r.Clients = append(r.Clients, Result{Cmd: "piondtls", Exit: -2, Stderr: err.Error()})
		return
	}
	r.client("", timeout+3*time.Second, bin, "-mode", "client", "-addr", dtlsServerAddr, "-ca", set.CAs, "-name", serverName, "-srtp", "-version", v, "-keylog", r.Keys, "-timeout", timeout.String())
}

// noKeyLog: a scenario whose key log is not kept still needs a file for
// the client's -keylogfile.
func (r *Run) noKeyLog() { r.Keys = filepath.Join(r.Tmp, "unused.keys") }

// cookieClientHello is a u32 match of a DTLS ClientHello that returns a
// cookie (RFC 6347 §4.2.1): a handshake record (byte 0 of the UDP payload
// 22) holding a ClientHello (byte 13: 1) with an empty session_id (byte
// 59) and a cookie of 1 to 255 bytes (byte 60). The offsets are from the
// UDP header (8 bytes) found past the IP header's own length.
const cookieClientHello = "0>>22&0x3C@8>>24=0x16 && 0>>22&0x3C@21>>24=0x01 && 0>>22&0x3C@65&0xFFFF=1:0xFF"

var dtlsScenarios = []Scenario{
	{
		Name:   "dtls-openssl-listen",
		Notes:  "With -listen s_server connects its socket to the client, so OpenSSL learns the path MTU and sends the server's flight (ServerHello, Certificate, ServerKeyExchange, ServerHelloDone) in one datagram. s_server prints the session's parameters (PEM) when the handshake is done.",
		Doc:    "openssl s_server -dtls1_2 -listen (DTLSv1_listen: a stateless HelloVerifyRequest, then the handshake with the cookie returned) and openssl s_client -dtls1_2 -keylogfile, which sends a line and closes with close_notify: a complete DTLS 1.2 handshake with a cookie exchange.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslDTLSServer(r.Small, "-dtls1_2", "-listen")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(time.Second, 6*time.Second, "-dtls1_2")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-openssl-nolisten",
		Notes:  "s_server still sends a HelloVerifyRequest (OpenSSL cannot be told not to). Its socket is not connected, so its MTU query fails and OpenSSL falls back to its minimum, 256 bytes of IP: the Certificate goes in 203-byte fragments over five datagrams. The server exits once it has sent its close_notify, so the client's own close_notify meets a closed port (ICMP port unreachable).",
		Doc:    "openssl s_server -dtls1_2 without -listen and openssl s_client -dtls1_2 -keylogfile: a complete DTLS 1.2 handshake. s_server turns on SSL_OP_COOKIE_EXCHANGE for every DTLS connection, so the cookie exchange happens here too, inside SSL_accept rather than statelessly.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslDTLSServer(r.Small, "-dtls1_2")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(time.Second, 6*time.Second, "-dtls1_2")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Reason: "finished"},
			Vantage{Outcome: "complete", Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-openssl-dtls10",
		Notes:  "The records say 0xfeff (DTLS 1.0) throughout; the suite is ECDHE-ECDSA-AES256-SHA (0xc00a), CBC with an explicit IV per record.",
		Doc:    "DTLS 1.0 (RFC 4347, version 0xfeff): openssl s_server -dtls1 -listen and openssl s_client -dtls1 -keylogfile, both with -cipher DEFAULT@SECLEVEL=0 (OpenSSL 3 refuses DTLS 1.0's SHA-1 signatures at its default level); complete, a CBC suite with explicit IVs.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslDTLSServer(r.Small, "-dtls1", "-listen", "-cipher", "DEFAULT@SECLEVEL=0")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(time.Second, 6*time.Second, "-dtls1", "-cipher", "DEFAULT@SECLEVEL=0")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-openssl-mtu",
		Doc:    "openssl s_server -dtls1_2 -listen -mtu 500 with the RSA-2048 leaf and s_client -dtls1_2 -mtu 500 -keylogfile: each side keeps its datagrams within 500 bytes, so the server's Certificate is sent in handshake fragments (RFC 6347 §4.2.3) across several datagrams; complete.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslDTLSServer(r.RSA, "-dtls1_2", "-listen", "-mtu", "500")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(time.Second, 6*time.Second, "-dtls1_2", "-mtu", "500")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-gnutls",
		Notes:  "GnuTLS's ClientHello records say 0xfeff (DTLS 1.0), their handshake 0xfefd; the server sends each message of its flight in its own datagram and a NewSessionTicket before its ChangeCipherSpec.",
		Doc:    "gnutls-serv --udp --echo --disable-client-cert and gnutls-cli --udp --insecure with SSLKEYLOGFILE: GnuTLS's own cookie exchange (gnutls_dtls_cookie_send), then a complete DTLS 1.2 handshake; the client sends a line, the server echoes it.",
		Stacks: []string{"gnutls"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.udpServer("gnutls-serv", "--udp", "--echo", "--disable-client-cert", "-p", fmt.Sprint(dtlsPort), "--x509certfile", r.Small.Chain, "--x509keyfile", r.Small.Key)
		},
		Traffic: func(r *Run) {
			args := []string{"env", "SSLKEYLOGFILE=" + r.Keys, "gnutls-cli", "--udp", "--insecure", "-p", fmt.Sprint(dtlsPort), "--sni-hostname", serverName, serverAddr}
			r.clientSlow([]string{"hello over DTLS\n"}, 500*time.Millisecond, time.Second, 6*time.Second, args...)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-pion-srtp",
		Notes:  "pion answers the first ClientHello at once (no HelloVerifyRequest) with SRTP_AEAD_AES_128_GCM (0x0007). The server exits after its close_notify: the client's close_notify meets a closed port (ICMP port unreachable).",
		Doc:    "pion/dtls v4 in process on both sides (internal/netlab/piondtls), DTLS 1.2, offering the use_srtp profiles WebRTC browsers offer (SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM, SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AES128_CM_HMAC_SHA1_32); the server is told to skip the cookie exchange (-no-cookie: pion's WithInsecureSkipVerifyHello; by default pion sends a HelloVerifyRequest), as WebRTC may since ICE has already checked the peer's address; the client writes the key log. Complete, with no HelloVerifyRequest.",
		Stacks: []string{"pion"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.pionServer(r.Small, "1.2", "-no-cookie") },
		Traffic: func(r *Run) {
			r.pionClient(r.Small, "1.2", 5*time.Second)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Reason: "finished (use_srtp profile SRTP_AEAD_AES_128_GCM shown)"},
			Vantage{Outcome: "complete", Reason: "finished (use_srtp profile SRTP_AEAD_AES_128_GCM shown)"},
		}},
	},
	{
		Name:   "dtls-pion-dtls13",
		Notes:  "pion's server prefers X25519MLKEM768 (0x11ec) to the X25519 share the client sent first, so it answers with a HelloRetryRequest that carries a cookie; the second ClientHello, with an ML-KEM share and the cookie, is 1.4 KB and goes in two fragments. tshark 4.0 reads the ClientHellos, the HelloRetryRequest and the ServerHello, but not DTLS 1.3's unified header: every record after the ServerHello is bare UDP to it, so the key log cannot be checked by tshark here (its client random is).",
		Doc:    "pion/dtls v4 on both sides, DTLS 1.3 (RFC 9147: unified header, encrypted record numbers, ACK) with the use_srtp profiles; the client writes the key log (the DTLS 1.3 traffic secrets). Complete.",
		Stacks: []string{"pion"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.pionServer(r.Small, "1.3") },
		Traffic: func(r *Run) {
			r.pionClient(r.Small, "1.3", 5*time.Second)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Reason: "finished"},
			Vantage{Outcome: "complete", Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-no-answer",
		Notes:  "s_server -listen answers each ClientHello statelessly: four ClientHellos, four HelloVerifyRequests in the server's capture, none of them at the client. s_client does not give up by itself within 8 s (OpenSSL's DTLS timer goes on doubling up to 60 s), so it has no error of its own.",
		Doc:    "The router drops every datagram from the server's port 4433 toward the client: s_client -dtls1_2 sends its ClientHello, hears nothing and resends it on its doubling timer (1 s, 2 s, 4 s) until the lab kills it after 8 s. The server (s_server -listen) answers each ClientHello it gets with a HelloVerifyRequest that never arrives.",
		Stacks: []string{"openssl"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-o", vethRouterC, "-p", "udp", "--sport", fmt.Sprint(dtlsPort), "-j", "DROP"); err != nil {
				return err
			}
			return r.opensslDTLSServer(r.Small, "-dtls1_2", "-listen")
		},
		Traffic: func(r *Run) {
			r.noKeyLog()
			r.opensslDTLSClient(10*time.Second, 8*time.Second, "-dtls1_2")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"client_hello_retransmitted"}, Reason: "no_answer: the client sent its ClientHello 4 times in 7 s, no answer (the server owes HelloVerifyRequest or ServerHello)"},
			Vantage{Outcome: "stalled", Findings: []string{"hello_verify_request", "client_hello_retransmitted"}, Reason: "cookie exchange failed: the client never returned the cookie (from the server's side the HelloVerifyRequests are answered by new ClientHellos without it)"},
		}},
	},
	{
		Name:   "dtls-drop-flight-once",
		Notes:  "The flight is resent one message per datagram (ServerHello 94 bytes, Certificate 913, ServerKeyExchange 145, ServerHelloDone 33): only the first send was one datagram of 1161 bytes, the one dropped.",
		Doc:    "The router drops the first datagram of 500 bytes or more from the server toward the client, once (iptables -m length with -m statistic --mode nth): with s_server -dtls1_2 -listen that is the flight ServerHello, Certificate, ServerKeyExchange, ServerHelloDone, sent after the cookie exchange in one datagram. s_client -dtls1_2 -keylogfile resends its ClientHello (with the cookie) when its timer fires, the server sends the flight again, and the handshake completes.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-o", vethRouterC, "-p", "udp", "--sport", fmt.Sprint(dtlsPort), "-m", "length", "--length", "500:65535", "-m", "statistic", "--mode", "nth", "--every", "1000", "--packet", "0", "-j", "DROP"); err != nil {
				return err
			}
			return r.opensslDTLSServer(r.Small, "-dtls1_2", "-listen")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(2*time.Second, 8*time.Second, "-dtls1_2")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request", "client_hello_retransmitted"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"hello_verify_request", "client_hello_retransmitted", "server_flight_retransmitted"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-mtu-blackhole",
		Notes:  "pion's server resends its flight on its own timer too (at 2 s and 4 s as well as after each ClientHello); the client gets the ServerHello, the Certificate's last fragment (724 bytes) and ServerKeyExchange with ServerHelloDone each time, never the three 1208-byte fragments. tshark flags the resent fragments at the server as overlapping the first ones.",
		Doc:    "The router drops, without a word, every UDP datagram toward the client of 1000 bytes or more (iptables -m length --length 1000:65535, as a link with a smaller MTU whose ICMP is lost). pion/dtls on both sides, DTLS 1.2, the server with the chain of three RSA-4096 certificates: pion cuts its flight into datagrams of up to 1200 bytes (its default MTU), so the Certificate's fragments never reach the client while the shorter last datagram does. The pion client (-timeout 6s) resends its ClientHello on its timer, the server resends its flight, and the client gives up.",
		Stacks: []string{"pion"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-o", vethRouterC, "-p", "udp", "-m", "length", "--length", "1000:65535", "-j", "DROP"); err != nil {
				return err
			}
			return r.pionServer(r.Big, "1.2", "-no-cookie")
		},
		Traffic: func(r *Run) {
			r.noKeyLog() // the handshake never gets far enough for pion to log a secret
			r.pionClient(r.Big, "1.2", 6*time.Second)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"path_mtu_blackhole", "client_hello_retransmitted"}, Reason: "lost_in_network: the server's flight larger than the path was lost (fragments of its Certificate never arrived while its smaller datagrams did); the server owes the rest of its flight"},
			Vantage{Outcome: "stalled", Findings: []string{"path_mtu_blackhole", "client_hello_retransmitted", "server_flight_retransmitted"}, Reason: "lost_in_network: the client kept resending its ClientHello as if the server's flight never arrived; its datagrams of 1000 bytes or more never got through"},
		}},
	},
	{
		Name:   "dtls-mtu-icmp",
		Notes:  "Only the first 1208-byte datagram is lost: the ICMP arrives before the server sends the next two, which the kernel already fragments at the IP layer. The client's ClientHello at 1 s brings the whole flight again, every big datagram in IP fragments, and the handshake completes at once.",
		Doc:    "As dtls-mtu-blackhole but the limit is a real MTU: the router's link toward the client has MTU 1000, and the router's ICMP fragmentation-needed (MTU 1000) reaches the server, whose kernel learns the path MTU. pion does not shrink its own datagrams; Linux sends UDP with DF set (IP_PMTUDISC_WANT) and, once it knows the path MTU, fragments the resent datagrams at the IP layer, so the resent flight arrives and the handshake completes.",
		Stacks: []string{"pion"},
		KeyLog: true,
		Setup: func(r *Run) error {
			if err := r.mtu(nsRouter, vethRouterC, 1000); err != nil {
				return err
			}
			return r.pionServer(r.Big, "1.2", "-no-cookie")
		},
		Traffic: func(r *Run) {
			r.pionClient(r.Big, "1.2", 6*time.Second)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete", Findings: []string{"client_hello_retransmitted"}, Reason: "finished"},
			Vantage{Outcome: "complete", Findings: []string{"path_mtu", "server_flight_retransmitted"}, Reason: "finished"},
		}},
	},
	{
		Name:   "dtls-cookie-lost",
		Notes:  "The server's capture holds one ClientHello and one HelloVerifyRequest: a stateless HelloVerifyRequest is never resent, and every ClientHello after it carries the cookie and is dropped. The client sends its cookie ClientHello three times (0, 1, 3 s) and gives up at 6 s.",
		Doc:    "The router drops every ClientHello from the client that returns a cookie (iptables -m u32: a handshake record holding a ClientHello with an empty session_id and a cookie of 1 to 255 bytes). s_server -dtls1_2 -listen answers the first ClientHello with a HelloVerifyRequest; the pion client (DTLS 1.2, -timeout 6s) returns the cookie in its second ClientHello, resends it on its timer, never hears back and gives up. The server sees one ClientHello without a cookie and nothing after its HelloVerifyRequest.",
		Stacks: []string{"openssl", "pion"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-i", vethRouterC, "-p", "udp", "--dport", fmt.Sprint(dtlsPort), "-m", "u32", "--u32", cookieClientHello, "-j", "DROP"); err != nil {
				return err
			}
			return r.opensslDTLSServer(r.Small, "-dtls1_2", "-listen")
		},
		Traffic: func(r *Run) {
			r.noKeyLog()
			r.pionClient(r.Small, "1.2", 6*time.Second)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"hello_verify_request", "client_hello_retransmitted"}, Reason: "silent: the client returned the cookie (its ClientHello with the cookie sent 3 times in 3 s), no answer: the server owes its ServerHello"},
			Vantage{Outcome: "stalled", Findings: []string{"hello_verify_request"}, Reason: "cookie exchange failed: the client never returned the cookie after the HelloVerifyRequest"},
		}},
	},
	{
		Name:   "dtls-client-rejects-cert",
		Notes:  "The client's alert is a DTLS record of epoch 0 in the clear, its only answer to the server's flight; s_server prints the alert it received.",
		Doc:    "openssl s_server -dtls1_2 -listen and openssl s_client -dtls1_2 -verify_return_error -keylogfile with the default trust store, which lacks the lab's CA: the client rejects the server's certificate with a fatal unknown_ca alert, in the clear (epoch 0).",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslDTLSServer(r.Small, "-dtls1_2", "-listen")
		},
		Traffic: func(r *Run) {
			r.opensslDTLSClient(time.Second, 6*time.Second, "-dtls1_2", "-verify_return_error")
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "failed", Findings: []string{"hello_verify_request"}, Reason: "alert: the client sent a fatal unknown_ca"},
			Vantage{Outcome: "failed", Findings: []string{"hello_verify_request"}, Reason: "alert: the client sent a fatal unknown_ca"},
		}},
	},
}

// DTLSFields are what the manifest lists of each datagram with DTLS
// records (several records per datagram give comma-separated values).
var DTLSFields = []string{"frame.number", "frame.time_relative", "ip.src", "udp.length", "dtls.record.epoch", "dtls.record.content_type", "dtls.handshake.type", "dtls.handshake.message_seq", "dtls.handshake.fragment_offset", "dtls.handshake.fragment_length", "dtls.handshake.cookie_length", "dtls.alert_message.desc"}

// dtlsSummary lists the datagrams with DTLS records as tshark reads them
// without the key log and, if keys is not "", with it.
func dtlsSummary(file, keys string) (clear, decrypted []string, err error) {
	list := func(keys string) ([]string, error) {
		rows, err := tsharkFieldsKeys(file, keys, "dtls", DTLSFields...)
		if err != nil {
			return nil, err
		}
		var l []string
		for _, r := range rows {
			if t, err := strconv.ParseFloat(r[1], 64); err == nil {
				r[1] = fmt.Sprintf("%.3f", t)
			}
			l = append(l, strings.Join(r, "\t"))
		}
		return l, nil
	}
	if clear, err = list(""); err != nil || keys == "" || len(clear) == 0 {
		return clear, nil, err
	}
	decrypted, err = list(keys)
	return clear, decrypted, err
}

// dtlsSection is the manifest's list of one capture's DTLS records.
func dtlsSection(s *Scenario, sm *Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "DTLS records tshark reads (`-Y dtls`: %s):\n\n```\n%s\n```\n\n", strings.Join(DTLSFields, ", "), strings.Join(sm.DTLS, "\n"))
	if s.KeyLog && len(sm.DTLSDecrypted) > 0 {
		fmt.Fprintf(&b, "and with `%s.keys`:\n\n```\n%s\n```\n\n", s.Name, strings.Join(sm.DTLSDecrypted, "\n"))
	}
	return b.String()
}
