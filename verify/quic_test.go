package verify

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

// The QUIC captures of the corpus (MANIFEST.md rows 2, 51, 56, 58, 60, 62);
// the chrome-cloudflare one carries its key log in a Decryption Secrets
// Block, which both tools read.
var quicCorpus = []string{
	"zeek/testing/btest/Traces/quic/*.pcap",
	"ja4/pcap/quic-with-several-tls-frames.pcapng",
	"ja4/pcap/tls-handshake.pcapng",
	"ja4/pcap/tls3.pcapng",
	"ja4/pcap/tls-sni.pcapng",
	"ja4/pcap/chrome-cloudflare-quic-with-secrets.pcapng",
}

// quicInputs are testdata/quic's captures with their key logs, and the
// corpus's QUIC captures when present.
func quicInputs(t *testing.T) []input {
	var out []input
	files, _ := filepath.Glob(filepath.Join(testdata, "quic", "*.pcap"))
	for _, f := range files {
		out = append(out, input{f, testenv.KeyLogOf(f)})
	}
	if testenv.CorpusIfPresent(t, "..") == nil {
		return out
	}
	for _, g := range quicCorpus {
		m, _ := filepath.Glob(filepath.Join(shared, g))
		if len(m) == 0 {
			t.Fatalf("corpus: no %s", g)
		}
		for _, f := range m {
			out = append(out, input{f, ""})
		}
	}
	return out
}

// quicName is name for testdata/quic's captures too.
func quicName(file string) string {
	if n := name(file); isCorpus(n) {
		return n
	}
	return "testdata/quic/" + filepath.Base(file)
}

// oursQUIC runs tlsscope over a file and returns its QUIC connections,
// through the JSON Lines like ours.
func oursQUIC(t *testing.T, file, keylog string) []*report.Connection {
	var out []*report.Connection
	for _, c := range oursAll(t, file, keylog) {
		if c.Transport == "quic" && c.QUIC != nil {
			out = append(out, c)
		}
	}
	return out
}

// quicView is what tshark says about one QUIC connection.
type quicView struct {
	stream     int      // udp.stream of its first frame
	numbers    []string // quic.connection.number, in order
	server     string   // the first datagram's destination
	version    string
	dcid, scid string // of the client's first Initial
	serverSCID string // of the server's last long header (its Initial or Handshake)
	sni        *string
	alpn       []string
	ja3        string
	suite      string
	alpnChosen string
	certs      int
	serials    []string
	types      [2][]string // handshake message names per side, first time seen
	closeCode  string      // the first CONNECTION_CLOSE's, as 0x128
	retry, vn  bool
	vnList     []string
	packets    [3][2]int // Initial, Handshake, 1-RTT × client, server
}

func srcOf(f testenv.Frame) string {
	if f.First("ipv6.src") != "" {
		return "[" + f.First("ipv6.src") + "]:" + f.First("udp.srcport")
	}
	return f.First("ip.src") + ":" + f.First("udp.srcport")
}

func dstOf(f testenv.Frame) string {
	if f.First("ipv6.dst") != "" {
		return "[" + f.First("ipv6.dst") + "]:" + f.First("udp.dstport")
	}
	return f.First("ip.dst") + ":" + f.First("udp.dstport")
}

// Long header packet types: RFC 9000 §17.2 and, for version 2, RFC 9369 §3.2.
var (
	longTypesV1 = map[string]int{"0": 0, "2": 1} // Initial, Handshake
	longTypesV2 = map[string]int{"1": 0, "3": 1}
)

// readTSharkQUIC groups tshark's QUIC frames by connection. tshark 4.0
// numbers the client's attempt after a Retry or a Version Negotiation as a
// new connection; RFC 9000 §17.2.5 and §6 keep it the same connection
// attempt (tlsscope's one connection), so such a view joins the one before
// it in the same UDP stream and keeps both numbers.
func readTSharkQUIC(t *testing.T, file, keylog string) ([]*quicView, error) {
	var extra []string
	if keylog != "" {
		abs, _ := filepath.Abs(keylog)
		extra = []string{"-o", "tls.keylog_file:" + abs}
	}
	frames, err := testenv.TSharkQUIC(t, file, extra...)
	if err != nil {
		return nil, err
	}
	var views []*quicView
	byNumber := map[string]*quicView{}
	lastInStream := map[int]*quicView{}
	for _, f := range frames {
		stream, err := strconv.Atoi(f.First("udp.stream"))
		if err != nil {
			continue
		}
		num := f.First("quic.connection.number")
		v := byNumber[num]
		if num == "" {
			// "Unknown QUIC connection": tshark could not place it.
			continue
		}
		if v == nil {
			prev := lastInStream[stream]
			if prev != nil && (prev.retry || prev.vn) && len(f["quic.long.packet_type"])+len(f["quic.long.packet_type_v2"]) > 0 {
				v = prev
			} else {
				v = &quicView{stream: stream, server: dstOf(f)}
				views = append(views, v)
			}
			v.numbers = append(v.numbers, num)
			byNumber[num] = v
			lastInStream[stream] = v
		}
		src := srcOf(f)
		side := 0
		if src == v.server {
			side = 1
		}
		// Packets: each header_form is one packet (coalesced ones too).
		vers := f["quic.version"]
		longs := 0
		for _, h := range f["quic.header_form"] {
			if h == "0" {
				v.packets[2][side]++
			} else {
				longs++
			}
		}
		for _, pt := range f["quic.long.packet_type"] {
			if s, ok := longTypesV1[pt]; ok {
				v.packets[s][side]++
			}
			if pt == "3" {
				v.retry = true
			}
		}
		for _, pt := range f["quic.long.packet_type_v2"] {
			if s, ok := longTypesV2[pt]; ok {
				v.packets[s][side]++
			}
			if pt == "0" {
				v.retry = true
			}
		}
		if slices.Contains(vers, "0x00000000") && side == 1 && !v.vn {
			// The first Version Negotiation packet (a server may send one
			// per client datagram, each with its own greased version).
			v.vn = true
			v.vnList = f["quic.supported_version"]
		}
		if side == 0 && v.version == "" && len(vers) > 0 && longs > 0 {
			v.version = vers[0]
			v.dcid = f.First("quic.dcid")
			v.scid = f.First("quic.scid")
		}
		if side == 0 && v.vn && len(vers) > 0 && vers[0] != "0x00000000" {
			v.version = vers[0]
		}
		if side == 1 && longs > 0 && !slices.Contains(vers, "0x00000000") && !f.Has("quic.long.packet_type", "3") {
			if s := f["quic.scid"]; len(s) > 0 {
				v.serverSCID = s[len(s)-1]
			}
		}
		if cc := f.First("quic.cc.error_code"); cc != "" && v.closeCode == "" {
			v.closeCode = hexCode(cc)
		}
		if cc := f.First("quic.cc.error_code.app"); cc != "" && v.closeCode == "" {
			v.closeCode = hexCode(cc)
		}
		for _, ty := range f["tls.handshake.type"] {
			n, _ := strconv.Atoi(ty)
			name := decoder.HandshakeTypeName(uint8(n))
			if !slices.Contains(v.types[side], name) {
				v.types[side] = append(v.types[side], name)
			}
		}
		types := f["tls.handshake.type"]
		if side == 0 && slices.Contains(types, "1") && v.sni == nil {
			sni := f.First("tls.handshake.extensions_server_name")
			v.sni = &sni
			v.alpn = f["tls.handshake.extensions_alpn_str"]
			v.ja3 = f.First("tls.handshake.ja3_full")
		}
		if side == 1 && slices.Contains(types, "2") && v.suite == "" {
			v.suite = f.First("tls.handshake.ciphersuite")
		}
		if side == 1 && slices.Contains(types, "8") && v.alpnChosen == "" {
			v.alpnChosen = f.First("tls.handshake.extensions_alpn_str")
		}
		if side == 1 && slices.Contains(types, "11") && v.certs == 0 {
			v.certs = len(f["tls.handshake.certificate"])
			for _, s := range f["x509af.serialNumber"] {
				v.serials = append(v.serials, strings.TrimLeft(strings.ReplaceAll(s, ":", ""), "0"))
			}
		}
	}
	return views, nil
}

// hexCode writes tshark's decimal error code as tlsscope does (0x128).
func hexCode(s string) string {
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return s
	}
	return "0x" + strconv.FormatUint(n, 16)
}

// matchQUIC finds our connection for a tshark view: the same UDP stream and
// the client's first Destination Connection ID.
func matchQUIC(conns []*report.Connection, v *quicView) *report.Connection {
	for _, c := range conns {
		if c.Stream == v.stream && c.QUIC.DCID == v.dcid {
			return c
		}
	}
	for _, c := range conns {
		if c.Stream == v.stream {
			return c
		}
	}
	return nil
}

func ourTypes(c *report.Connection, from string) []string {
	var out []string
	for _, m := range c.Messages {
		if m.From == from && !slices.Contains(out, m.Type) {
			out = append(out, m.Type)
		}
	}
	return out
}

func nums(a [2]int) string { return fmt.Sprintf("%d/%d", a[0], a[1]) }

// quicSections are the agreement tables of the QUIC tests (dtlsSections
// the DTLS ones), written into
// the -agreement file after every test (TestMain): TestDifferential
// rewrites that file when it runs, after the tests of this file.
var quicSections []string

func TestMain(m *testing.M) {
	code := m.Run()
	if *reportFile != "" && len(quicSections)+len(dtlsSections) > 0 {
		old, _ := os.ReadFile(*reportFile)
		for _, mark := range []string{"\n## QUIC\n", "\n## DTLS\n"} {
			if i := bytes.Index(old, []byte(mark)); i >= 0 {
				old = old[:i]
			}
		}
		out := string(old)
		if len(quicSections) > 0 {
			out += "\n## QUIC\n\n" + strings.Join(quicSections, "\n")
		}
		if len(dtlsSections) > 0 {
			out += "\n## DTLS\n\n" + strings.Join(dtlsSections, "\n")
		}
		os.WriteFile(*reportFile, []byte(out), 0o644)
	}
	os.Exit(code)
}

// TestQUICDifferential compares tlsscope's QUIC connections with tshark's
// dissection of the same captures, field by field, and fails on any
// disagreement that exceptions_quic.tsv does not explain.
func TestQUICDifferential(t *testing.T) {
	testenv.TShark(t)
	inputs := quicInputs(t)
	ex := readExceptions(t, "exceptions_quic.tsv")
	// Known tlsscope bugs are counted apart: neither agreement nor a
	// reviewed exception (those are for tshark's mistakes only).
	bugs := readExceptions(t, "known_bugs_quic.tsv")
	known := map[string]int{}
	withCorpus := slices.ContainsFunc(inputs, func(in input) bool { return isCorpus(name(in.file)) })
	var fields fieldTallies
	byFile := map[string]*tally{}
	for _, in := range inputs {
		views, err := readTSharkQUIC(t, in.file, in.keylog)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		conns := oursQUIC(t, in.file, in.keylog)
		base := quicName(in.file)
		ft := &tally{}
		byFile[base] = ft
		matched := map[*report.Connection]bool{}
		for _, v := range views {
			c := matchQUIC(conns, v)
			id := strconv.Itoa(v.stream)
			compare := func(field, want, got string) {
				fields.udpCompare(t, ft, ex, bugs, known, base, id, field, want, got)
			}
			if c == nil {
				compare("connection", "udp.stream "+id, "")
				continue
			}
			matched[c] = true
			q := c.QUIC
			compare("connection", "udp.stream "+id, "udp.stream "+strconv.Itoa(c.Stream))
			number := ""
			if q.ConnectionNumber != nil {
				number = strconv.Itoa(*q.ConnectionNumber)
			}
			compare("connection_number", v.numbers[0], number)
			if v.version != "" {
				compare("version", v.version, q.Version)
				compare("dcid", v.dcid, q.DCID)
				compare("scid", v.scid, q.SCID)
			}
			if v.serverSCID != "" {
				compare("server_scid", v.serverSCID, q.ServerSCID)
			}
			ch, sh := c.ClientHello, c.ServerHello
			if ch == nil {
				ch = &report.ClientHello{}
			}
			if sh == nil {
				sh = &report.ServerHello{}
			}
			if v.sni != nil {
				compare("sni", *v.sni, ch.SNI)
				compare("alpn_offered", strings.Join(v.alpn, ","), strings.Join(ch.ALPN, ","))
				compare("ja3", v.ja3, ch.JA3Full)
			}
			if v.suite != "" {
				compare("chosen_suite", decoder.CipherSuiteName(hexNumber(v.suite)), sh.CipherSuite)
			}
			if v.alpnChosen != "" {
				compare("alpn_chosen", v.alpnChosen, sh.ALPN)
			}
			if v.certs > 0 {
				compare("certificates", strconv.Itoa(v.certs), strconv.Itoa(len(c.Certificates)))
				var got []string
				for _, x := range c.Certificates {
					got = append(got, strings.TrimLeft(x.Serial, "0"))
				}
				w := strings.Join(v.serials, ",")
				if len(v.serials) > len(got) && len(got) > 0 && subsequence(got, v.serials) {
					w = strings.Join(got, ",") // tshark's serials also name the authority key identifier's
				}
				compare("serials", w, strings.Join(got, ","))
			}
			compare("client_messages", strings.Join(v.types[0], ","), strings.Join(ourTypes(c, "client"), ","))
			compare("server_messages", strings.Join(v.types[1], ","), strings.Join(ourTypes(c, "server"), ","))
			compare("error_code", v.closeCode, q.ErrorCode)
			compare("retry", strconv.FormatBool(v.retry), strconv.FormatBool(q.Retry))
			gotVN := "-"
			if q.VersionNegotiation != nil {
				gotVN = strings.Join(q.VersionNegotiation.Supported, ",")
			}
			wantVN := "-"
			if v.vn {
				wantVN = strings.Join(v.vnList, ",")
			}
			compare("version_negotiation", wantVN, gotVN)
			compare("packets_initial", nums(v.packets[0]), nums(q.Packets.Initial))
			compare("packets_handshake", nums(v.packets[1]), nums(q.Packets.Handshake))
			compare("packets_one_rtt", nums(v.packets[2]), nums(q.Packets.OneRTT))
		}
		for _, c := range conns {
			if !matched[c] {
				id := strconv.Itoa(c.Stream)
				fields.of("connection").compared++
				ft.compared++
				if matchException(ex, base, id, "extra_connection") {
					fields.of("connection").excepted++
					ft.excepted++
				} else if matchException(bugs, base, id, "extra_connection") {
					known["connection"]++
					t.Logf("known tlsscope bug: %s: an extra QUIC connection at udp.stream %d", base, c.Stream)
				} else {
					t.Errorf("%s: tlsscope has a QUIC connection at udp.stream %d (dcid %q) that tshark does not", base, c.Stream, c.QUIC.DCID)
				}
			}
		}
	}
	for _, e := range ex {
		if !e.used && (withCorpus || !isCorpus(e.file)) {
			t.Errorf("exceptions_quic.tsv: %s stream %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	for _, e := range bugs {
		if !e.used && (withCorpus || !isCorpus(e.file)) {
			t.Errorf("known_bugs_quic.tsv: %s stream %s %s agrees now: remove it", e.file, e.stream, e.field)
		}
	}
	var total tally
	nknown := 0
	var md strings.Builder
	md.WriteString("QUIC against tshark\n| field | compared | agree | explained exceptions | known tlsscope bugs | agreement |\n|---|---:|---:|---:|---:|---:|\n")
	for _, f := range fields.order {
		x := fields.by[f]
		total.compared += x.compared
		total.agreed += x.agreed
		total.excepted += x.excepted
		nknown += known[f]
		fmt.Fprintf(&md, "| %s | %d | %d | %d | %d | %.2f%% |\n", f, x.compared, x.agreed, x.excepted, known[f], 100*float64(x.agreed)/float64(x.compared))
	}
	fmt.Fprintf(&md, "| **all** | %d | %d | %d | %d | %.2f%% |\n\n", total.compared, total.agreed, total.excepted, nknown, 100*float64(total.agreed)/float64(max(total.compared, 1)))
	md.WriteString("| file | compared | agree | explained exceptions |\n|---|---:|---:|---:|\n")
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		x := byFile[f]
		if x.compared > 0 {
			fmt.Fprintf(&md, "| %s | %d | %d | %d |\n", f, x.compared, x.agreed, x.excepted)
		}
	}
	t.Log("\n" + md.String())
	quicSections = append(quicSections, md.String())
	least := map[bool]int{true: 400, false: 200}[withCorpus]
	if total.compared < least {
		t.Errorf("only %d QUIC fields compared, want at least %d", total.compared, least)
	}
}

// snapStreams reads the QUIC streams of a FoxIO ja4 rust snapshot (insta
// YAML): stream number, client port and JA4.
func snapStreams(file string) ([]map[string]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	var cur map[string]string
	for _, line := range strings.Split(string(data), "\n") {
		if s, ok := strings.CutPrefix(line, "- stream: "); ok {
			cur = map[string]string{"stream": s}
			out = append(out, cur)
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			cur[k] = v
		}
	}
	return slices.DeleteFunc(out, func(m map[string]string) bool { return m["transport"] != "udp" }), nil
}

// TestQUICBaselines compares tlsscope's QUIC connections with Zeek's
// quic.log baseline and FoxIO's JA4 snapshots of the same captures.
func TestQUICBaselines(t *testing.T) {
	testenv.NeedShared(t, "..")
	ex := readExceptions(t, "baseline_exceptions.tsv")
	byField := map[string]*tally{}
	// Zeek: the quic.log baselines, with the captures MANIFEST.md names.
	baselines := manifestBaselines(t)
	logs, _ := filepath.Glob(filepath.Join(shared, "zeek/testing/btest/Baseline/scripts.base.protocols.quic.*/quic.log"))
	if len(logs) == 0 {
		t.Fatal("no Zeek quic.log baseline")
	}
	for _, bl := range logs {
		blName, _ := filepath.Rel(filepath.Join(shared, "zeek/testing/btest/Baseline"), bl)
		zl, err := readZeekLog(bl)
		if err != nil {
			t.Fatal(err)
		}
		var conns []*report.Connection
		var where string
		for _, c := range baselines[bl] {
			conns = append(conns, oursQUIC(t, c, "")...)
			where = name(c)
		}
		for _, lg := range zl {
			for _, row := range lg.rows {
				id := row["id.orig_h"] + ":" + row["id.orig_p"]
				var c *report.Connection
				for _, cc := range conns {
					if cc.Client == endpoint(row["id.orig_h"], row["id.orig_p"]) && cc.Server == endpoint(row["id.resp_h"], row["id.resp_p"]) {
						c = cc
					}
				}
				if c == nil {
					t.Errorf("%s: no QUIC connection %s in %v", blName, id, baselines[bl])
					continue
				}
				q := c.QUIC
				version := strings.TrimLeft(strings.TrimPrefix(q.Version, "0x"), "0")
				got := map[string]string{"version": version, "client_initial_dcid": q.DCID, "client_scid": zeekEmpty(q.SCID),
					"server_scid": zeekEmpty(q.ServerSCID), "server_name": "-", "client_protocol": "-"}
				if ch := c.ClientHello; ch != nil {
					got["server_name"] = dash(ch.SNI)
					if len(ch.ALPN) > 0 {
						got["client_protocol"] = strings.Join(ch.ALPN, ",")
					}
				}
				for _, f := range []string{"version", "client_initial_dcid", "client_scid", "server_scid", "server_name", "client_protocol"} {
					if want, ok := row[f]; ok {
						countField(t, byField, ex, "zeek quic "+f, blName, id, where, want, got[f])
					}
				}
			}
		}
	}
	// FoxIO: the rust snapshots' UDP (QUIC) streams (the python JSON lists no QUIC
	// stream for these captures; MANIFEST.md notes the quic-with-several-
	// tls-frames one is empty).
	for _, g := range quicCorpus {
		files, _ := filepath.Glob(filepath.Join(shared, g))
		for _, f := range files {
			snap := filepath.Join(shared, "ja4/rust/ja4/src/snapshots", "ja4__insta@"+filepath.Base(f)+".snap")
			streams, err := snapStreams(snap)
			if err != nil {
				continue // no FoxIO snapshot for this capture (Zeek's)
			}
			conns := oursQUIC(t, f, "")
			for _, s := range streams {
				if s["ja4"] == "" {
					continue
				}
				got := ""
				for _, c := range conns {
					if strconv.Itoa(c.Stream) == s["stream"] && strconv.Itoa(c.ClientPort) == s["src_port"] && c.ClientHello != nil {
						got = c.ClientHello.JA4
					}
				}
				countField(t, byField, ex, "ja4 rust quic ja4", name(f), s["stream"], name(f), s["ja4"], got)
			}
		}
	}
	for _, e := range ex {
		if !e.used && strings.Contains(e.field, "quic") {
			t.Errorf("baseline_exceptions.tsv: %s %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	table, total := tallyTable("QUIC against Zeek's quic.log and FoxIO's JA4", byField)
	t.Log("\n" + table)
	quicSections = append(quicSections, table)
	if total.compared < 40 {
		t.Errorf("only %d QUIC baseline fields compared, want at least 40", total.compared)
	}
}

// zeekEmpty is how Zeek writes an empty connection ID.
func zeekEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}
