package main

import (
	"fmt"
	"sort"
	"strings"
)

// manifest writes MANIFEST.md: the stacks, then per scenario the faults,
// how the programs ended, what the issue expects and what tshark saw. A
// scenario not run this time keeps its section of old (the manifest as it
// was), so that regenerating some captures leaves the others' records.
func manifest(e *Env, runs []*Run, old string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Captures of real TLS stacks (issue #14)\n\n")
	p("Made by `go run ./internal/netlab -out testdata/netlab` (`make netlab`) as root: three network namespaces, ")
	p("client %s (`%s`/`%s`) — router (`%s`, %s/%s) — server %s (`%s`/`%s`), ", clientAddr, nsClient, vethClient, nsRouter, routerCAddr, routerSAddr, serverAddr, nsServer, vethServer)
	p("MTU %d unless a scenario says otherwise, offloads off (`ethtool -K tso off gso off gro off tx off rx off`), IPv6 off. ", defaultMTU)
	p("Each scenario has a fresh lab and two captures by tcpdump (classic pcap, snaplen 0): `<scenario>.client.pcap` on the client's veth and `<scenario>.server.pcap` on the server's. ")
	p("Packets from the server reach the client with TTL %d (one hop); packets the router makes itself have TTL 64. ", routerHopTTL)
	p("Certificates are made per run with crypto/x509 (fixed names, serials and dates; fresh keys): an ECDSA P-256 leaf for %s under an ECDSA CA, and for the MTU scenarios a chain of three RSA-4096 certificates with 40 padding SANs. SNI is %s, server port %d.\n\n", serverName, serverName, port)
	p("Expectations are from the text of issue #14 (the `Scenarios` table in internal/netlab/scenarios.go), to be checked against the analyzer.\n\n")
	p("Not made: an IPv6 scenario (IPv6 is off in the lab so that no router solicitation or MLD report lands in a capture). ")
	p("Every capture comes from the real stacks: no packet is made or edited by hand; ARP is in the captures as on a wire.\n\n")
	p("Key logs (issue #15): in the scenarios that say so a stack writes an NSS key log (OpenSSL's `-keylogfile`, `SSLKEYLOGFILE` for curl, GnuTLS, Chromium and Firefox, Python's `keylog_filename`, Node's `keylog` events), kept as `<scenario>.keys` beside the captures; the same file decrypts both. ")
	p("They are the secrets of throwaway keys made for one run. For each capture the manifest lists the frames with handshake messages tshark reads with the key log (`tshark -o tls.keylog_file:<scenario>.keys`) and without it (frame, TCP stream, source, handshake types).\n\n")
	p("DTLS (issue #26): the `dtls-*` scenarios run OpenSSL, GnuTLS and pion/dtls (built from internal/netlab/piondtls, its own module) over UDP port %d; for each capture the manifest lists the datagrams with DTLS records as tshark reads them, with the key log where there is one. tlsscope cannot read DTLS yet: their expected verdicts (outcome, findings, reason in words) are not checked against it (internal/netlab/netlab_dtls_test.go); tshark 4.0 does not read DTLS 1.3's unified header, so the encrypted DTLS 1.3 records are bare UDP to it.\n\n", dtlsPort)
	p("`go run ./internal/netlab -out testdata/netlab -only a,b` makes only the scenarios named and keeps the other sections here as they were.\n\n")
	p("## Stacks\n\n")
	for _, v := range e.Versions {
		p("- %s: `%s`\n", v[0], v[1])
	}
	p("\n")
	ran := map[string]*Run{}
	for _, r := range runs {
		ran[r.S.Name] = r
	}
	kept := oldSections(old)
	for i := range Scenarios {
		if r, ok := ran[Scenarios[i].Name]; ok {
			b.WriteString(section(e, r))
		} else {
			b.WriteString(kept[Scenarios[i].Name])
		}
	}
	return b.String()
}

// oldSections splits a manifest into its scenarios' sections, by name.
func oldSections(old string) map[string]string {
	m := map[string]string{}
	name := ""
	var cur strings.Builder
	flush := func() {
		if name != "" && name != "Stacks" {
			m[name] = cur.String()
		}
		cur.Reset()
	}
	for _, l := range strings.SplitAfter(old, "\n") {
		if strings.HasPrefix(l, "## ") {
			flush()
			name = strings.TrimSpace(strings.TrimPrefix(l, "## "))
		}
		cur.WriteString(l)
	}
	flush()
	return m
}

// section is one scenario's part of the manifest.
func section(e *Env, r *Run) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	{
		s := r.S
		p("## %s\n\n%s\n\n", s.Name, s.Doc)
		if s.Notes != "" {
			p("Seen: %s\n\n", s.Notes)
		}
		var st []string
		for _, name := range s.Stacks {
			for _, v := range e.Versions {
				if v[0] == name {
					st = append(st, fmt.Sprintf("%s (`%s`)", name, v[1]))
				}
			}
		}
		p("- stacks: %s\n", strings.Join(st, ", "))
		if len(r.Faults) == 0 {
			p("- faults: none\n")
		}
		for _, f := range r.Faults {
			p("- fault: `%s`\n", f)
		}
		if s.ClientFilter != "" || s.ServerFilter != "" {
			p("- capture filters: client `%s`, server `%s`\n", s.ClientFilter, s.ServerFilter)
		}
		p("- server: `%s` → %s\n", short(r.ServerCmd), r.ServerExit)
		// The first lines: OpenSSL's s_server then prints its cache counts.
		said := 0
		for _, l := range strings.Split(r.ServerLog, "\n") {
			if l = strings.TrimSpace(l); l != "" && said < 4 {
				p("  - server said: `%s`\n", clip(l))
				said++
			}
		}
		for _, c := range r.Clients {
			exit := fmt.Sprintf("exit %d", c.Exit)
			if c.Exit == -1 {
				exit = "killed by the lab's timeout"
			}
			p("- client: `%s` → %s", short(c.Cmd), exit)
			if c.Stdout != "" {
				p("; stdout: `%s`", clip(c.Stdout))
			}
			if c.Stderr != "" {
				p("; stderr: `%s`", clip(c.Stderr))
			}
			p("\n")
			for _, l := range c.Said {
				p("  - client said: `%s`\n", clip(l))
			}
		}
		if s.KeyLog {
			p("- key log: `%s.keys`\n", s.Name)
		}
		if r.Err != nil {
			p("- **lab error**: %s\n\n", r.Err)
			return b.String()
		}
		var conns []string
		for k := range s.Expect {
			conns = append(conns, k)
		}
		sort.Strings(conns)
		for _, k := range conns {
			x := s.Expect[k]
			p("- expected (%s): client vantage %s; server vantage %s\n", k, vantage(x.Client), vantage(x.Server))
		}
		p("\n")
		for _, side := range []struct {
			name string
			sum  *Summary
		}{{"client", r.Client}, {"server", r.Serv}} {
			sm := side.sum
			p("### %s.%s.pcap\n\n", s.Name, side.name)
			p("%d frames, largest %d bytes. tshark: ", sm.Frames, sm.MaxFrame)
			var counts []string
			for _, a := range Analysis {
				counts = append(counts, fmt.Sprintf("%s %d", strings.TrimPrefix(a, "tcp.analysis."), sm.Counts[a]))
			}
			p("%s; RST %d", strings.Join(counts, ", "), len(sm.RSTs))
			if len(sm.RSTs) > 0 {
				p(" (%s)", strings.Join(sm.RSTs, "; "))
			}
			p("; ICMP %d", len(sm.ICMP))
			if len(sm.ICMP) > 0 {
				p(" (%s)", strings.Join(sm.ICMP, "; "))
			}
			p(".\n\n```\n")
			p("%s\n", strings.Join(PacketFields, "\t"))
			for _, l := range sm.Packets {
				p("%s\n", l)
			}
			p("```\n\n")
			if len(sm.DTLS) > 0 {
				b.WriteString(dtlsSection(s, sm))
			}
			if s.KeyLog && !isDTLS(s.Name) {
				p("Handshake messages tshark reads with `%s.keys` (%s):\n\n```\n%s\n```\n\n", s.Name, strings.Join(HandshakeFields, ", "), strings.Join(sm.Decrypted, "\n"))
				p("and without it:\n\n```\n%s\n```\n\n", strings.Join(sm.Clear, "\n"))
			}
		}
	}
	return b.String()
}

func vantage(v Vantage) string {
	o := v.Outcome
	if o == "" {
		o = "(any but stalled)"
	}
	if len(v.Findings) > 0 {
		o += " [" + strings.Join(v.Findings, ", ") + "]"
	}
	if v.Reason != "" {
		o += " (reason: " + v.Reason + ")"
	}
	return o
}

// short drops the temp dir from paths in a command line.
func short(cmd string) string {
	var f []string
	for _, w := range strings.Fields(cmd) {
		// VAR=/tmp/... as well as /tmp/...
		pre, v := "", w
		if i := strings.Index(w, "=/tmp/"); i > 0 {
			pre, v = w[:i+1], w[i+1:]
		}
		if i := strings.LastIndex(v, "/netlab"); i > 0 && strings.HasPrefix(v, "/tmp/") {
			if j := strings.LastIndex(v, "/"); j >= 0 {
				v = v[j+1:]
			}
		}
		f = append(f, pre+v)
	}
	return strings.Join(f, " ")
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
