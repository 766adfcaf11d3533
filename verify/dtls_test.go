package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
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

// The DTLS captures of the corpus (MANIFEST.md, the DTLS section).
// dns-txt-multiple is the negative: tshark finds no DTLS in it, and
// tlsscope must not either.
var dtlsCorpus = []string{
	"zeek/testing/btest/Traces/tls/dtls1_0.pcap",
	"zeek/testing/btest/Traces/tls/dtls1_2.pcap",
	"zeek/testing/btest/Traces/tls/dtls13-wolfssl.pcap",
	"zeek/testing/btest/Traces/tls/dtls13-cid.pcap",
	"zeek/testing/btest/Traces/tls/dtls-sequence-number-jumps.pcap",
	"zeek/testing/btest/Traces/tls/webrtc-stun.pcap",
	"zeek/testing/btest/Traces/dns-txt-multiple.pcap",
}

// dtlsInputs are the real stacks' DTLS captures (testdata/netlab, both
// vantages, with their key logs), decoder's, and the corpus's when present.
func dtlsInputs(t *testing.T) []input {
	var out []input
	for _, g := range []string{filepath.Join(testdata, "netlab", "dtls-*.pcap"), filepath.Join("..", "decoder", "testdata", "dtls-*.pcap")} {
		files, _ := filepath.Glob(g)
		for _, f := range files {
			out = append(out, input{f, testenv.KeyLogOf(f)})
		}
	}
	if len(out) == 0 {
		t.Fatal("no DTLS capture in testdata/netlab or decoder/testdata")
	}
	if !testenv.HaveShared("..") {
		return out
	}
	for _, g := range dtlsCorpus {
		f := filepath.Join(shared, g)
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("corpus: %v", err)
		}
		out = append(out, input{f, ""})
	}
	return out
}

// dtlsName names a DTLS capture in reports and exceptions_dtls.tsv: its
// path under ../shared/captures, testdata/netlab/NAME or
// decoder/testdata/NAME.
func dtlsName(file string) string {
	if n := name(file); isCorpus(n) {
		return n
	}
	if filepath.Base(filepath.Dir(file)) == "netlab" {
		return "testdata/netlab/" + filepath.Base(file)
	}
	return "decoder/testdata/" + filepath.Base(file)
}

// dtlsIsCorpus: the name is a file of ../shared/captures.
func dtlsIsCorpus(name string) bool { return strings.HasPrefix(name, "zeek/") }

// oursDTLS runs tlsscope over a file and returns its DTLS connections,
// through the JSON Lines like ours.
func oursDTLS(t *testing.T, file, keylog string) []*report.Connection {
	var out []*report.Connection
	for _, c := range oursAll(t, file, keylog) {
		if c.Transport == "dtls" {
			out = append(out, c)
		}
	}
	return out
}

// dtlsView is what tshark says about one DTLS association (one UDP
// stream).
type dtlsView struct {
	stream       int
	client       string // the source of the first ClientHello
	sni          *string
	suites       []string // offered, in the first ClientHello
	ja4          string   // of the first ClientHello, computed here from tshark's fields (dtlsJA4)
	version      string   // the ServerHello's (its supported_versions for DTLS 1.3)
	suite        string   // chosen
	hvr          bool     // a HelloVerifyRequest was sent
	certs        []string // SHA-256 of the server's Certificate, as tshark reassembled it
	serials      []string
	subjects     []string
	fragments    int      // of the server's Certificate message, when tshark reassembled it
	alerts       []string // plain (or, with keys, decrypted): "client:fatal:handshake_failure"
	finished     [2]bool  // a Finished seen (decrypted) per side
	ccsThenEpoch [2]bool  // a ChangeCipherSpec, then a handshake record in a later epoch, per side
	ccs          [2]bool
	sawServer    bool
}

// dtls13 says whether the association negotiated DTLS 1.3, whose records
// after the ServerHello tshark 4.0 cannot read (the unified header of RFC
// 9147 §4: to tshark they are bare UDP).
func (v *dtlsView) dtls13() bool { return v.version == "0xfefc" }

// established is tshark's view of a completed handshake: each side's
// Finished, read when decrypted, or else inferred from its
// ChangeCipherSpec followed by an encrypted handshake record (the
// Finished, RFC 6347 §4.2.4's last message of each side's final flight).
func (v *dtlsView) established() bool {
	side := func(i int) bool { return v.finished[i] || v.ccsThenEpoch[i] }
	return side(0) && side(1)
}

func readTSharkDTLS(t *testing.T, file, keylog string) (map[int]*dtlsView, error) {
	var extra []string
	if keylog != "" {
		abs, _ := filepath.Abs(keylog)
		extra = []string{"-o", "tls.keylog_file:" + abs}
	}
	frames, err := testenv.TSharkDTLS(t, file, extra...)
	if err != nil {
		return nil, err
	}
	views := map[int]*dtlsView{}
	for _, f := range frames {
		stream, err := strconv.Atoi(f.First("udp.stream"))
		if err != nil || f.First("icmp.type") != "" || f.First("icmpv6.type") != "" {
			// An ICMP error quoting a DTLS datagram: tshark dissects the
			// quote (an alert, say) as if the router had sent it.
			continue
		}
		v := views[stream]
		types := f["dtls.handshake.type"]
		if v == nil {
			if !slices.Contains(types, "1") {
				// An association tshark saw start without its ClientHello:
				// the client is the destination of what it sent.
				v = &dtlsView{stream: stream, client: dstOf(f)}
			} else {
				v = &dtlsView{stream: stream, client: srcOf(f)}
			}
			views[stream] = v
		}
		side := 0
		if srcOf(f) != v.client {
			side = 1
		}
		// The ClientHello once whole: tshark shows its fields in the frame
		// that completes its reassembly (the first fragment alone has none).
		if side == 0 && slices.Contains(types, "1") && v.sni == nil && len(f["dtls.handshake.ciphersuite"]) > 0 {
			sni := f.First("dtls.handshake.extensions_server_name")
			v.sni = &sni
			v.suites = f["dtls.handshake.ciphersuite"]
			v.ja4 = dtlsJA4(f)
		}
		if side == 1 && slices.Contains(types, "3") {
			v.hvr = true
		}
		if side == 1 && slices.Contains(types, "2") {
			// The last ServerHello: a DTLS 1.3 HelloRetryRequest is a
			// ServerHello too, and the real one follows it.
			v.sawServer = true
			v.version = f.First("dtls.handshake.version")
			if sv := f["dtls.handshake.extensions.supported_version"]; len(sv) > 0 {
				v.version = sv[len(sv)-1]
			}
			if cs := f["dtls.handshake.ciphersuite"]; len(cs) > 0 {
				v.suite = cs[len(cs)-1]
			}
		}
		if side == 1 && slices.Contains(types, "11") && v.certs == nil {
			for _, h := range f["dtls.handshake.certificate"] {
				der, _ := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
				s := sha256.Sum256(der)
				v.certs = append(v.certs, hex.EncodeToString(s[:]))
				subject := "(unparsable)"
				if c, err := x509.ParseCertificate(der); err == nil {
					subject = c.Subject.String()
				}
				v.subjects = append(v.subjects, subject)
			}
			for _, s := range f["x509af.serialNumber"] {
				v.serials = append(v.serials, strings.TrimLeft(strings.ReplaceAll(s, ":", ""), "0"))
			}
			// dtls.fragment.count is per reassembled message in the
			// frame; the Certificate is the first one tshark reassembled
			// here when it came in fragments.
			if n, err := strconv.Atoi(f.First("dtls.fragment.count")); err == nil {
				v.fragments = n
			}
		}
		if slices.Contains(types, "20") {
			v.finished[side] = true
		}
		// Records in order: a ChangeCipherSpec, then a handshake record in
		// a later epoch (the encrypted Finished) from the same side.
		ctypes, epochs := f["dtls.record.content_type"], f["dtls.record.epoch"]
		for i, ct := range ctypes {
			if ct == "20" {
				v.ccs[side] = true
			}
			if ct == "22" && v.ccs[side] && i < len(epochs) && epochs[i] != "0" {
				v.ccsThenEpoch[side] = true
			}
		}
		levels, descs := f["dtls.alert_message.level"], f["dtls.alert_message.desc"]
		for i := range descs {
			if i >= len(levels) {
				break
			}
			from := "client"
			if side == 1 {
				from = "server"
			}
			d, _ := strconv.Atoi(descs[i])
			v.alerts = append(v.alerts, from+":"+alertLevels[levels[i]]+":"+decoder.AlertName(uint8(d)))
		}
	}
	return views, nil
}

// dtlsSections are the DTLS agreement tables, written into the -agreement
// file after the tests (TestMain, with the QUIC ones).
var dtlsSections []string

// TestDTLSDifferential compares tlsscope's DTLS associations with tshark's
// dissection of the same captures, without and with the key logs, field by
// field; a disagreement fails unless exceptions_dtls.tsv gives its reason.
// What tshark 4.0 cannot read (DTLS 1.3 after the ServerHello) is counted
// as not comparable, never as agreement.
func TestDTLSDifferential(t *testing.T) {
	testenv.TShark(t)
	inputs := dtlsInputs(t)
	ex := readExceptions(t, "exceptions_dtls.tsv")
	// Known tlsscope gaps are counted apart: neither agreement nor a
	// reviewed exception (those are for tshark's mistakes only).
	bugs := readExceptions(t, "known_bugs_dtls.tsv")
	withCorpus := slices.ContainsFunc(inputs, func(in input) bool { return dtlsIsCorpus(dtlsName(in.file)) })
	type pass struct {
		title string
		keyed bool
	}
	anyDTLS := false
	var md strings.Builder
	for _, p := range []pass{{"DTLS against tshark, without keys", false}, {"DTLS against tshark, both decrypting with the key log", true}} {
		var fields fieldTallies
		known := map[string]int{}
		notComparable := map[string]int{}
		byFile := map[string]*tally{}
		for _, in := range inputs {
			keylog := ""
			base := dtlsName(in.file)
			if p.keyed {
				if in.keylog == "" {
					continue
				}
				keylog = in.keylog
				base += "+keys"
			}
			views, err := readTSharkDTLS(t, in.file, keylog)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			conns := oursDTLS(t, in.file, keylog)
			anyDTLS = anyDTLS || len(conns) > 0
			ft := &tally{}
			byFile[base] = ft
			matched := map[*report.Connection]bool{}
			for _, s := range slices.Sorted(maps.Keys(views)) {
				v := views[s]
				id := strconv.Itoa(s)
				compare := func(field, want, got string) {
					fields.udpCompare(t, ft, ex, bugs, known, base, id, field, want, got)
				}
				var c *report.Connection
				for _, cc := range conns {
					if cc.Stream == s && c == nil {
						c = cc
					}
				}
				if c == nil {
					compare("connection", "udp.stream "+id, "")
					continue
				}
				matched[c] = true
				compare("connection", "udp.stream "+id, "udp.stream "+strconv.Itoa(c.Stream))
				compare("client", v.client, c.Client)
				ch, sh := c.ClientHello, c.ServerHello
				if ch == nil {
					ch = &report.ClientHello{}
				}
				if sh == nil {
					sh = &report.ServerHello{}
				}
				if v.sni != nil {
					compare("sni", *v.sni, ch.SNI)
					compare("offered_suites", strings.Join(suiteNames(v.suites), ","), strings.Join(ch.CipherSuites, ","))
					compare("ja4", v.ja4, ch.JA4)
				}
				compare("hello_verify_request", strconv.FormatBool(v.hvr), strconv.FormatBool(hasFinding(c, "hello_verify_request")))
				if v.sawServer {
					compare("version", decoder.VersionName(hexNumber(v.version)), c.Version)
					compare("chosen_suite", decoder.CipherSuiteName(hexNumber(v.suite)), sh.CipherSuite)
				}
				if v.dtls13() {
					// Certificates, alerts and the Finished are under the
					// unified header, which tshark 4.0.17 does not read.
					for _, f := range []string{"certificates", "alerts", "established"} {
						notComparable[f]++
					}
					continue
				}
				if v.certs != nil {
					var sums, serials, subjects []string
					for _, x := range c.Certificates {
						sums = append(sums, x.SHA256)
						serials = append(serials, strings.TrimLeft(x.Serial, "0"))
						subjects = append(subjects, x.Subject)
					}
					w := v.serials
					if len(w) > len(serials) && len(serials) > 0 && subsequence(serials, w) {
						w = serials // tshark's serials also name the authority key identifier's
					}
					compare("certificates", strings.Join(v.certs, ","), strings.Join(sums, ","))
					compare("serials", strings.Join(w, ","), strings.Join(serials, ","))
					compare("subjects", strings.Join(v.subjects, "|"), strings.Join(subjects, "|"))
					if v.fragments > 1 {
						// The Certificate came in fragments that tshark
						// reassembled: the same chain is the reassembly's
						// check.
						compare("reassembled_certificate", strings.Join(v.certs, ","), strings.Join(sums, ","))
					}
				}
				var alerts []string
				for _, a := range c.Alerts {
					if !a.Encrypted {
						alerts = append(alerts, a.From+":"+a.Level+":"+a.Description)
					}
				}
				compare("alerts", strings.Join(v.alerts, ","), strings.Join(alerts, ","))
				compare("established", strconv.FormatBool(v.established()), strconv.FormatBool(c.Established))
			}
			for _, c := range conns {
				if matched[c] {
					continue
				}
				id := strconv.Itoa(c.Stream)
				bt := fields.of("connection")
				bt.compared++
				ft.compared++
				if matchException(ex, base, id, "extra_connection") {
					bt.excepted++
					ft.excepted++
				} else {
					t.Errorf("%s: tlsscope has a DTLS association at udp.stream %d that tshark does not", base, c.Stream)
				}
			}
		}
		var total tally
		nknown := 0
		fmt.Fprintf(&md, "%s\n| field | compared | agree | explained exceptions | known tlsscope gaps | agreement |\n|---|---:|---:|---:|---:|---:|\n", p.title)
		for _, f := range fields.order {
			x := fields.by[f]
			total.compared += x.compared
			total.agreed += x.agreed
			total.excepted += x.excepted
			nknown += known[f]
			fmt.Fprintf(&md, "| %s | %d | %d | %d | %d | %.2f%% |\n", f, x.compared, x.agreed, x.excepted, known[f], 100*float64(x.agreed)/float64(x.compared))
		}
		fmt.Fprintf(&md, "| **all** | %d | %d | %d | %d | %.2f%% |\n\n", total.compared, total.agreed, total.excepted, nknown, 100*float64(total.agreed)/float64(max(total.compared, 1)))
		if len(notComparable) > 0 {
			md.WriteString("Not comparable (DTLS 1.3 associations: tshark 4.0.17 does not read the unified header, RFC 9147 §4, so their records after the ServerHello are bare UDP to it):")
			for _, f := range slices.Sorted(maps.Keys(notComparable)) {
				fmt.Fprintf(&md, " %s %d;", f, notComparable[f])
			}
			md.WriteString("\n\n")
		}
		md.WriteString("| file | compared | agree | explained exceptions |\n|---|---:|---:|---:|\n")
		for _, f := range slices.Sorted(maps.Keys(byFile)) {
			if x := byFile[f]; x.compared > 0 {
				fmt.Fprintf(&md, "| %s | %d | %d | %d |\n", f, x.compared, x.agreed, x.excepted)
			}
		}
		md.WriteString("\n")
		least := map[bool]int{true: 250, false: 150}[withCorpus]
		if p.keyed {
			least = 100
		}
		if total.compared < least {
			t.Errorf("%s: only %d fields compared, want at least %d", p.title, total.compared, least)
		}
	}
	if !anyDTLS {
		t.Errorf("tlsscope reports no DTLS association on any of %d captures", len(inputs))
	}
	for _, e := range ex {
		if !e.used && (withCorpus || !dtlsIsCorpus(e.file)) {
			t.Errorf("exceptions_dtls.tsv: %s stream %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	for _, e := range bugs {
		if !e.used && (withCorpus || !dtlsIsCorpus(e.file)) {
			t.Errorf("known_bugs_dtls.tsv: %s stream %s %s agrees now: remove it", e.file, e.stream, e.field)
		}
	}
	t.Log("\n" + md.String())
	dtlsSections = append(dtlsSections, md.String())
}

// dtlsJA4 is FoxIO's JA4 of a DTLS ClientHello (technical_details/JA4.md:
// "d" for DTLS; the version from supported_versions, else the hello's,
// 0xfeff "d1", 0xfefd "d2", 0xfefc "d3"), computed from tshark's fields of
// the frame that holds the whole hello: an oracle apart from tlsscope's
// code, since tshark 4.0 has no JA4 field and FoxIO's samples hold no
// DTLS.
func dtlsJA4(f testenv.Frame) string {
	grease := func(h string) bool {
		n := hexNumber(h)
		return n&0x0f0f == 0x0a0a && n>>8 == n&0xff
	}
	hex4 := func(vals []string, dec bool) []string {
		var out []string
		for _, v := range vals {
			if dec {
				n, _ := strconv.Atoi(v)
				v = fmt.Sprintf("0x%04x", n)
			}
			if !grease(v) {
				out = append(out, strings.TrimPrefix(strings.ToLower(v), "0x"))
			}
		}
		return out
	}
	version := f.First("dtls.handshake.version")
	var best uint16
	for _, v := range hex4(f["dtls.handshake.extensions.supported_version"], false) {
		// DTLS versions count down: the highest is the smallest number.
		if n := hexNumber(v); best == 0 || n < best {
			best = n
		}
	}
	if best != 0 {
		version = fmt.Sprintf("0x%04x", best)
	}
	vs := map[string]string{"0xfeff": "d1", "0xfefd": "d2", "0xfefc": "d3"}[version]
	if vs == "" {
		vs = "00"
	}
	suites := hex4(f["dtls.handshake.ciphersuite"], false)
	exts := hex4(f["dtls.handshake.extension.type"], true)
	sni := "i"
	if slices.Contains(exts, "0000") {
		sni = "d"
	}
	alpn := "00"
	if a := f.First("dtls.handshake.extensions_alpn_str"); a != "" {
		alpn = a[:1] + a[len(a)-1:]
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:12]
	}
	b := "000000000000"
	if len(suites) > 0 {
		b = hash(strings.Join(slices.Sorted(slices.Values(suites)), ","))
	}
	var rest []string
	for _, e := range exts {
		if e != "0000" && e != "0010" {
			rest = append(rest, e)
		}
	}
	c := "000000000000"
	if len(rest) > 0 {
		in := strings.Join(slices.Sorted(slices.Values(rest)), ",")
		if algs := hex4(f["dtls.handshake.sig_hash_alg"], false); len(algs) > 0 {
			in += "_" + strings.Join(algs, ",")
		}
		c = hash(in)
	}
	return fmt.Sprintf("d%s%s%02d%02d%s_%s_%s", vs, sni, min(len(suites), 99), min(len(exts), 99), alpn, b, c)
}
