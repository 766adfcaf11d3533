package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Vantage is what tlsscope should say of a connection seen from one side.
// Outcome is one of complete, resumed, failed, reset, closed, stalled,
// incomplete, not_observed, not_tls ("" where the issue names none);
// Findings are finding codes. These are from the text of issue #14: the
// lead checks them against the analyzer.
type Vantage struct {
	Outcome  string
	Findings []string
	// Reason is the verdict's reason in words, where a scenario names it
	// (the DTLS scenarios, issue #26); not checked against tlsscope yet.
	Reason string
	// Status is the server chain's validation status and Verdict how the
	// verdict begins, when not "" (judged against the scenario's Roots).
	Status, Verdict string
}

// ClientServer is a connection as seen in the client's and in the
// server's capture.
type ClientServer struct {
	Client, Server Vantage
}

// Scenario is one pair of captures. Setup makes the fault and starts the
// server before the captures start; Traffic runs the clients while they
// run. Expect is keyed by a name for each connection the client opens, in
// order.
type Scenario struct {
	Name    string
	Doc     string
	Stacks  []string // whose versions the manifest lists
	Notes   string   // what the stacks did that the design did not say
	Setup   func(*Run) error
	Traffic func(*Run)
	// BPF filters of the two captures ("" keeps everything).
	ClientFilter, ServerFilter string
	// KeyLog: a stack writes an NSS key log to Run.Keys, kept as
	// <scenario>.keys beside the captures (issue #15).
	KeyLog bool
	// Roots is what tlsscope judges the chains against in the checks, as
	// the client trusted: "" none (no validation), "lab" the lab's root
	// alone (lab-root.pem beside the captures), "empty" a store without
	// roots (the client trusted a root the server's chain does not reach).
	Roots  string
	Expect map[string]ClientServer
}

const port = 443

// The Python client's source ports: fixed, so that a connection is named
// by its port in every run (and reject-icmp's rules can tell two apart).
const (
	sport1 = 40001
	sport2 = 40002
)

var httpGet = "GET / HTTP/1.0\r\nHost: shop.test\r\n\r\n"

// pyClient runs the Python TLS 1.3 client with a socket timeout.
func (r *Run) pyClient(timeout time.Duration, sport int, alpn ...string) {
	args := []string{"tls-client", serverAddr, fmt.Sprint(port), fmt.Sprint(timeout.Seconds()), fmt.Sprint(sport)}
	r.client("", timeout+5*time.Second, r.py(append(args, alpn...)...)...)
}

func (r *Run) pyTLSServer(set certSet) error {
	return r.server(port, r.py("tls-server", fmt.Sprint(port), set.Chain, set.Key)...)
}

func (r *Run) opensslServer(extra ...string) error {
	return r.opensslServerWith(r.Small, extra...)
}

func (r *Run) opensslServerWith(set certSet, extra ...string) error {
	args := []string{"openssl", "s_server", "-accept", fmt.Sprint(port), "-cert", set.Leaf, "-cert_chain", set.CAs, "-key", set.Key}
	return r.server(port, append(args, extra...)...)
}

// clientSlow runs a client whose standard input comes in parts, gap
// apart, then EOF tail after the last.
func (r *Run) clientSlow(parts []string, gap, tail, timeout time.Duration, args ...string) {
	r.Clients = append(r.Clients, clientIn(nsClient, &slowStdin{parts: parts, gap: gap, tail: tail}, timeout, args...))
}

// opensslClient is s_client to the lab's server with SNI, writing the
// key log.
func (r *Run) opensslClient(extra ...string) []string {
	args := []string{"openssl", "s_client", "-connect", serverAddr + ":443", "-servername", serverName, "-keylogfile", r.Keys}
	return append(args, extra...)
}

// nginxConf is the smallest nginx that serves TLS 1.3 with the lab's
// certificate: one process, in the foreground, everything under dir.
func nginxConf(dir string, set certSet) string {
	return fmt.Sprintf(`daemon off;
master_process off;
user root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]d ssl;
        server_name %[3]s;
        ssl_certificate %[4]s;
        ssl_certificate_key %[5]s;
        ssl_protocols TLSv1.3;
        location / { return 200 "ok\n"; }
    }
}
`, dir, port, serverName, set.Chain, set.Key)
}

// gnutlsCli is gnutls-cli to the lab's server, writing the key log (GnuTLS
// reads SSLKEYLOGFILE).
func (r *Run) gnutlsCli(extra ...string) {
	args := []string{"env", "SSLKEYLOGFILE=" + r.Keys, "gnutls-cli", "--insecure", "-p", fmt.Sprint(port), "--sni-hostname", serverName}
	args = append(append(args, extra...), serverAddr)
	// gnutls-serv answers the request and closes; EOF on stdin would come later.
	r.clientSlow([]string{httpGet}, 500*time.Millisecond, 2*time.Second, 8*time.Second, args...)
}

// mtuFaults: the router's link toward the client has MTU 1000 while both
// ends keep 1500, so the server's full-size segments (DF set) do not fit.
func (r *Run) mtuFaults(dropICMP bool) error {
	if err := r.mtu(nsRouter, vethRouterC, 1000); err != nil {
		return err
	}
	if dropICMP {
		for _, chain := range []string{"OUTPUT", "FORWARD"} {
			if err := r.rule("-A", chain, "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP"); err != nil {
				return err
			}
		}
	}
	return r.pyTLSServer(r.Big)
}

// manyALPN makes the Python ClientHello about 900 bytes: more than one
// segment at the client's MTU of 576.
func manyALPN() []string {
	var p []string
	for i := 0; i < 40; i++ {
		p = append(p, fmt.Sprintf("netlab-proto-%02d", i))
	}
	return p
}

var Scenarios = []Scenario{
	{
		Name:   "openssl-tls13",
		Doc:    "openssl s_server -tls1_3 -www (no ALPN) and openssl s_client -tls1_3 sending a request: a complete TLS 1.3 handshake in which OpenSSL sends EncryptedExtensions as its own record.",
		Stacks: []string{"openssl"},
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_3", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, "openssl", "s_client", "-connect", serverAddr+":443", "-servername", serverName, "-tls1_3", "-ign_eof")
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "python-tls13",
		Doc:    "Python ssl server and client, TLS 1.3, one request and response.",
		Stacks: []string{"python"},
		Setup:  func(r *Run) error { return r.pyTLSServer(r.Small) },
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "curl-gnutls",
		Notes:  "gnutls-serv ends the response with close_notify and FIN; curl's own close_notify then reaches a closed socket, so the server's kernel answers it with a RST after the handshake.",
		Doc:    "gnutls-serv --http --disable-client-cert and curl -k --tlsv1.2 --tls-max 1.2 (curl on OpenSSL): a complete TLS 1.2 handshake between two real stacks.",
		Stacks: []string{"gnutls", "curl"},
		Setup: func(r *Run) error {
			return r.server(port, "gnutls-serv", "--http", "--disable-client-cert", "-p", fmt.Sprint(port), "--x509certfile", r.Small.Chain, "--x509keyfile", r.Small.Key)
		},
		Traffic: func(r *Run) {
			r.client("", 8*time.Second, "curl", "-k", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}\n", "--tlsv1.2", "--tls-max", "1.2", "--local-port", fmt.Sprint(sport1), "-m", "5", "--resolve", serverName+":443:"+serverAddr, "https://"+serverName+"/")
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "python-gives-up",
		Doc:    "The server accepts and reads but never answers; the Python client (settimeout(0.5)) gets \"The handshake operation timed out\" and closes.",
		Stacks: []string{"python"},
		Setup:  func(r *Run) error { return r.server(port, r.py("silent-server", fmt.Sprint(port))...) },
		Traffic: func(r *Run) {
			r.pyClient(500*time.Millisecond, sport1)
		},
		// Closed by the client; the stall facts: the server owed the
		// ServerHello and was silent 0.5 s.
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "closed", Findings: []string{"connection_closed"}},
			Vantage{Outcome: "closed", Findings: []string{"connection_closed"}},
		}},
	},
	{
		Name:   "mtu-blackhole",
		Notes:  "The Python server sets TCP_NODELAY (as nginx, Go and Node do): without it Nagle holds the short tail behind the unacknowledged full segments and the client sees nothing of the flight. OpenSSL writes the flight as 4096 bytes (1448 + 1448 + 1200, all too big for MTU 1000) and then about 930 bytes after signing, which pass; the client SACKs them. Linux does not probe for a black hole (tcp_mtu_probing=0), so the server resends the first 1448 bytes until the client gives up.",
		Doc:    "The router's link toward the client has MTU 1000 and drops its own ICMP fragmentation-needed; the server (MTU 1500, DF) sends a 3 x RSA-4096 chain in segments of 1448, 1448 and 1200 bytes that never reach the client; only the short last one does. Python server and client (timeout 3 s).",
		Stacks: []string{"python"},
		Setup:  func(r *Run) error { return r.mtuFaults(true) },
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		// The client gives up at 3 s, past the 2 s stall timeout: stalled,
		// the server owing the ServerHello the client never received.
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"network_loss", "path_mtu_blackhole"}},
			Vantage{Outcome: "stalled", Findings: []string{"path_mtu_blackhole", "network_loss", "server_flight_retransmitted"}},
		}},
	},
	{
		Name:   "mtu-blackhole-one-segment",
		Doc:    "The router drops, without a word, packets toward the client longer than 1200 bytes (iptables -m length, as a link with a smaller MTU whose ICMP is lost); the server's TLS 1.3 flight with an RSA-2048 leaf is one full-size segment and a shorter tail, so only the full-size one is lost, again and again, while the client SACKs the tail. Python server and client (timeout 3 s).",
		Stacks: []string{"python"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-o", vethRouterC, "-p", "tcp", "-m", "length", "--length", "1201:65535", "-j", "DROP"); err != nil {
				return err
			}
			return r.pyTLSServer(r.RSA)
		},
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"network_loss", "path_mtu_blackhole"}},
			Vantage{Outcome: "stalled", Findings: []string{"network_loss", "path_mtu_blackhole"}},
		}},
	},
	{
		Name:   "mtu-icmp",
		Notes:  "The router sends one ICMP per dropped segment; the server resends everything at 948 bytes at once, which tshark labels TCP Out-Of-Order rather than Retransmission (less than an RTT after the original).",
		Doc:    "As mtu-blackhole but the router's ICMP fragmentation-needed (MTU 1000) gets through: path MTU discovery shrinks the server's segments and the handshake completes. The server's capture holds the ICMP quoting its segment.",
		Stacks: []string{"python"},
		Setup:  func(r *Run) error { return r.mtuFaults(false) },
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "complete"},
			Vantage{Outcome: "complete", Findings: []string{"path_mtu"}},
		}},
	},
	{
		Name:   "drop-client-hello-first-segment",
		Notes:  "The client's FIN at its timeout never leaves: TCP is in loss recovery with one segment in flight, so the FIN queues behind the first segment. Both captures end with the connection open.",
		Doc:    "The client's MTU is 576 and its ClientHello (40 ALPN names) about 900 bytes, so it spans two segments; the router drops client->server TCP packets of 500 bytes and more, so the first segment and its retransmissions never arrive, the tail does. Python client (timeout 3 s) and server.",
		Stacks: []string{"python"},
		Setup: func(r *Run) error {
			if err := r.mtu(nsClient, vethClient, 576); err != nil {
				return err
			}
			if err := r.rule("-A", "FORWARD", "-i", vethRouterC, "-p", "tcp", "-m", "length", "--length", "500:65535", "-j", "DROP"); err != nil {
				return err
			}
			return r.pyTLSServer(r.Small)
		},
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1, manyALPN()...)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"client_hello_retransmitted", "network_loss", "split_client_hello"}},
			Vantage{Outcome: "incomplete", Findings: []string{"network_loss"}}, // the capture ends with the tail
		}},
	},
	{
		Name:   "rst-inject",
		Notes:  "The server never learns of the reset: its capture ends with the connection open after the three-way handshake.",
		Doc:    "The router answers the packet holding \"shop.test\" (the ClientHello's SNI) with a TCP reset to the client in the server's name (iptables REJECT --reject-with tcp-reset): its TTL is 64, the server's packets arrive with 63. Python client and server.",
		Stacks: []string{"python"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-p", "tcp", "-m", "string", "--algo", "bm", "--string", serverName, "-j", "REJECT", "--reject-with", "tcp-reset"); err != nil {
				return err
			}
			return r.pyTLSServer(r.Small)
		},
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		// The server sees the connection open, then nothing: the client
		// owes the ClientHello.
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "reset", Findings: []string{"connection_reset", "reset_injected"}},
			Vantage{Outcome: "incomplete"}, // connected, then nothing: the client owes its ClientHello
		}},
	},
	{
		Name:   "drop-client-hello",
		Notes:  "The client's FIN at its timeout never leaves (loss recovery, one segment in flight): the client capture ends with retransmissions, the server's with an idle connection that never got a byte.",
		Doc:    "The router drops the packet holding \"shop.test\": the ClientHello is retransmitted and never ACKed. The Python client gives up after 3 s and closes, but its FIN waits behind the unacknowledged ClientHello (TCP in loss recovery, one segment in flight), so neither capture holds it.",
		Stacks: []string{"python"},
		Setup: func(r *Run) error {
			if err := r.rule("-A", "FORWARD", "-p", "tcp", "-m", "string", "--algo", "bm", "--string", serverName, "-j", "DROP"); err != nil {
				return err
			}
			return r.pyTLSServer(r.Small)
		},
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "stalled", Findings: []string{"network_loss", "client_hello_retransmitted"}},
			Vantage{Outcome: "incomplete"}, // connected, then nothing: the client owes its ClientHello
		}},
	},
	{
		Name:   "server-not-tls",
		Doc:    "A plain socket server on 443 answers the ClientHello with \"HTTP/1.1 400 Bad Request\" and closes; openssl s_client is the client.",
		Stacks: []string{"openssl", "python"},
		Setup:  func(r *Run) error { return r.server(port, r.py("http400-server", fmt.Sprint(port))...) },
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, "openssl", "s_client", "-connect", serverAddr+":443", "-servername", serverName)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "closed", Findings: []string{"server_not_tls"}},
			Vantage{Outcome: "closed", Findings: []string{"server_not_tls"}},
		}},
	},
	{
		Name:   "server-fin-after-hello",
		Notes:  "Python's client (OpenSSL 3.0) answers the FIN with a fatal decode_error alert in clear (15 03 01 00 02 02 32), as the issue says, then closes; the client raises SSLEOFError.",
		Doc:    "The server reads the ClientHello and shuts down its sending side (FIN); the Python ssl client's reaction is recorded (the server logs what it got after its FIN).",
		Stacks: []string{"python"},
		Setup:  func(r *Run) error { return r.server(port, r.py("fin-after-hello-server", fmt.Sprint(port))...) },
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
		},
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "closed", Findings: []string{"connection_closed", "alert_reaction"}},
			Vantage{Outcome: "closed", Findings: []string{"connection_closed", "alert_reaction"}},
		}},
	},
	{
		Name:   "reject-icmp",
		Notes:  "The two connections are told apart by fixed client source ports (40001, 40002). Linux aborts the connect at the first ICMP (ECONNREFUSED, EHOSTUNREACH), so there is no SYN retransmission. The server's capture is empty: no packet of either reaches it.",
		Doc:    "The router rejects the SYN from client port 40001 with ICMP port-unreachable and the SYN from port 40002 with ICMP admin-prohibited: two connections in one capture, both to 443. Python client.",
		Stacks: []string{"python"},
		Setup: func(r *Run) error {
			for _, x := range [][2]int{{sport1, 0}, {sport2, 1}} {
				with := []string{"icmp-port-unreachable", "icmp-admin-prohibited"}[x[1]]
				if err := r.rule("-A", "FORWARD", "-p", "tcp", "--syn", "--sport", fmt.Sprint(x[0]), "-j", "REJECT", "--reject-with", with); err != nil {
					return err
				}
			}
			return r.pyTLSServer(r.Small)
		},
		Traffic: func(r *Run) {
			r.pyClient(3*time.Second, sport1)
			r.pyClient(3*time.Second, sport2)
		},
		// A TCP-level failure with the ICMP tied to the connection; the
		// server never sees either SYN.
		Expect: map[string]ClientServer{
			// The server's capture is empty: nothing reached it.
			"port-unreachable": {Vantage{Outcome: "reset", Findings: []string{"icmp_unreachable"}}, Vantage{}},
			"admin-prohibited": {Vantage{Outcome: "reset", Findings: []string{"icmp_unreachable"}}, Vantage{}},
		},
	},
	{
		Name:         "one-sided",
		Notes:        "The filters are `ip src host`, so ARP stays out too.",
		Doc:          "A complete Python TLS 1.3 handshake captured with BPF filters that keep only client->server packets at the client and only server->client packets at the server.",
		Stacks:       []string{"python"},
		Setup:        func(r *Run) error { return r.pyTLSServer(r.Small) },
		Traffic:      func(r *Run) { r.pyClient(3*time.Second, sport1) },
		ClientFilter: "ip src host " + clientAddr,
		ServerFilter: "ip src host " + serverAddr,
		// Not stalled; the issue names no outcome.
		Expect: map[string]ClientServer{"main": {
			Vantage{Outcome: "incomplete", Findings: []string{"one_sided_capture"}},
			Vantage{Outcome: "incomplete", Findings: []string{"one_sided_capture"}},
		}},
	},
	// Key logs (issue #15): the captures decrypt with <scenario>.keys.
	{
		Name:   "openssl-tls13-keylog",
		Doc:    "As openssl-tls13, s_client writing an NSS key log (-keylogfile): openssl s_server -tls1_3 -www and openssl s_client -tls1_3 with a request and the response.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_3", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, r.opensslClient("-tls1_3", "-ign_eof")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "openssl-tls12-keylog",
		Doc:    "TLS 1.2 with a CBC cipher suite and encrypt_then_mac: openssl s_server -tls1_2 -www with an RSA-2048 leaf, openssl s_client -tls1_2 -cipher ECDHE-RSA-AES128-SHA -keylogfile (OpenSSL offers and accepts encrypt_then_mac for CBC by default), with a request and the response.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServerWith(r.RSA, "-tls1_2", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, r.opensslClient("-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA", "-ign_eof")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "openssl-tls12-gcm-keylog",
		Doc:    "TLS 1.2 with AES-GCM: openssl s_server -tls1_2 -www with an RSA-2048 leaf, openssl s_client -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 -keylogfile, with a request and the response.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServerWith(r.RSA, "-tls1_2", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, r.opensslClient("-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384", "-ign_eof")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "curl-nginx-keylog",
		Doc:    "nginx (listen 443 ssl, ssl_protocols TLSv1.3, return 200) and curl -k --http1.1 with SSLKEYLOGFILE (curl on OpenSSL writes the key log).",
		Stacks: []string{"nginx", "curl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			conf := filepath.Join(r.Tmp, "nginx.conf")
			if err := os.WriteFile(conf, []byte(nginxConf(r.Tmp, r.Small)), 0o644); err != nil {
				return err
			}
			return r.server(port, "nginx", "-e", "stderr", "-p", r.Tmp, "-c", conf)
		},
		Traffic: func(r *Run) {
			r.client("", 8*time.Second, "env", "SSLKEYLOGFILE="+r.Keys, "curl", "-k", "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}\n", "--local-port", fmt.Sprint(sport1), "-m", "5", "--resolve", serverName+":443:"+serverAddr, "https://"+serverName+"/")
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "gnutls-keylog",
		Doc:    "gnutls-serv --http --disable-client-cert and gnutls-cli --insecure with SSLKEYLOGFILE (GnuTLS writes the key log), two connections one after the other: TLS 1.3, then TLS 1.2 (--priority NORMAL:-VERS-TLS1.3); each sends a request and gets the response.",
		Stacks: []string{"gnutls"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.server(port, "gnutls-serv", "--http", "--disable-client-cert", "-p", fmt.Sprint(port), "--x509certfile", r.Small.Chain, "--x509keyfile", r.Small.Key)
		},
		Traffic: func(r *Run) {
			r.gnutlsCli()
			r.gnutlsCli("--priority", "NORMAL:-VERS-TLS1.3")
		},
		Expect: map[string]ClientServer{
			"main":  {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}},
			"tls12": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}},
		},
	},
	{
		Name:   "python-tls13-keylog",
		Doc:    "Mutual TLS 1.3 in Python ssl: the server requires a client certificate (CERT_REQUIRED, the lab's CA), the client presents one (ECDSA P-256, clientAuth) and writes the key log (context.keylog_filename); one request and response. The client's Certificate and CertificateVerify are encrypted.",
		Stacks: []string{"python"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.server(port, r.py("mtls-server", fmt.Sprint(port), r.Small.Chain, r.Small.Key, r.Small.CAs)...)
		},
		Traffic: func(r *Run) {
			r.client("", 8*time.Second, r.py("keylog-client", serverAddr, fmt.Sprint(port), "3", fmt.Sprint(sport1), r.Keys, r.ClientC.Chain, r.ClientC.Key)...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "openssl-keyupdate",
		Notes:  "The server sends its KeyUpdate (the answer to update_requested) only with its next write, just before the response. Its last segments (the end of the response and close_notify) leave faster than the client's delayed ACK, so the server's tail loss probe resends the close_notify about 7 ms later: tshark marks it a spurious retransmission.",
		Doc:    "TLS 1.3 KeyUpdate, by OpenSSL (Python's ssl has no call for it): openssl s_server -tls1_3 -www and openssl s_client -tls1_3 -keylogfile driven line by line, 1 s apart: \"k\" (a KeyUpdate, update_not_requested), \"K\" (a KeyUpdate with update_requested, which the server answers with its own), then the request; the response comes under the new keys.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_3", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			// Without -ign_eof, for s_client reads the commands.
			// A second apart, so that s_client reads each line alone after
			// its handshake; s_server -www answers more than a second after
			// the request.
			r.clientSlow([]string{"k\n", "K\n", httpGet}, time.Second, 3*time.Second, 12*time.Second, r.opensslClient("-tls1_3")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	// Issue #23: what tlsscope got wrong on real stacks.
	{
		Name:   "openssl-client-rejects-cert",
		Notes:  "OpenSSL's TLS 1.3 client has not yet installed its handshake write keys when it rejects the server's Certificate: its fatal unknown_ca alert goes out in the clear (a 2-byte record of type 21), with no ChangeCipherSpec before it.",
		Doc:    "openssl s_server -tls1_3 -www and openssl s_client -tls1_3 -verify_return_error -keylogfile with the default trust store, which lacks the lab's CA: the client rejects the certificate with a fatal unknown_ca alert.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_3", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.client(httpGet, 5*time.Second, r.opensslClient("-tls1_3", "-verify_return_error", "-ign_eof")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "failed"}, Vantage{Outcome: "failed"}}},
	},
	{
		Name:   "openssl-reneg",
		Doc:    "TLS 1.2 renegotiation that the server allows: openssl s_server -tls1_2 -www -client_renegotiation and openssl s_client -tls1_2 -keylogfile driven line by line, 1 s apart: \"R\" (a renegotiation: a second ClientHello under the first keys), then the request, answered under the second handshake's keys.",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_2", "-www", "-naccept", "1", "-client_renegotiation")
		},
		Traffic: func(r *Run) {
			r.clientSlow([]string{"R\n", httpGet}, time.Second, 3*time.Second, 12*time.Second, r.opensslClient("-tls1_2")...)
		},
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
	{
		Name:   "openssl-reneg-refused",
		Notes:  "OpenSSL 3.0 refuses a client's renegotiation by default: the server answers the second ClientHello with a warning no_renegotiation alert, and the client gives up with a fatal handshake_failure alert, both under the first handshake's keys.",
		Doc:    "As openssl-reneg without -client_renegotiation: openssl s_server -tls1_2 -www refuses the renegotiation that openssl s_client -tls1_2 -keylogfile asks for with \"R\".",
		Stacks: []string{"openssl"},
		KeyLog: true,
		Setup: func(r *Run) error {
			return r.opensslServer("-tls1_2", "-www", "-naccept", "1")
		},
		Traffic: func(r *Run) {
			r.clientSlow([]string{"R\n", httpGet}, time.Second, 3*time.Second, 12*time.Second, r.opensslClient("-tls1_2")...)
		},
		// The first handshake completed: a refused renegotiation does not undo it.
		Expect: map[string]ClientServer{"main": {Vantage{Outcome: "complete"}, Vantage{Outcome: "complete"}}},
	},
}
