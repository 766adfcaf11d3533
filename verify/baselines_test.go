package verify

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

// zeekLog is one section of a Zeek TSV log: its field names and rows.
type zeekLog struct {
	path string
	rows []map[string]string
}

func readZeekLog(file string) ([]zeekLog, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var logs []zeekLog
	var fields []string
	var cur *zeekLog
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#path"):
			logs = append(logs, zeekLog{path: strings.TrimSpace(strings.TrimPrefix(line, "#path"))})
			cur = &logs[len(logs)-1]
		case strings.HasPrefix(line, "#fields\t"):
			fields = strings.Split(line, "\t")[1:]
		case strings.HasPrefix(line, "#") || cur == nil || fields == nil:
		default:
			vals := strings.Split(line, "\t")
			row := map[string]string{}
			for i, f := range fields {
				if i < len(vals) {
					row[f] = vals[i]
				}
			}
			cur.rows = append(cur.rows, row)
		}
	}
	return logs, sc.Err()
}

// manifestBaselines maps each Zeek baseline file to the captures whose
// MANIFEST.md row names it.
func manifestBaselines(t *testing.T) map[string][]string {
	data, err := os.ReadFile(filepath.Join(shared, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile("^\\| \\d+ \\| `([^`]+)` \\|")
	zeekRE := regexp.MustCompile("zeek `([^`]+)`")
	out := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, z := range zeekRE.FindAllStringSubmatch(line, -1) {
			base := filepath.Join(shared, "zeek/testing/btest/Baseline", z[1])
			out[base] = append(out[base], filepath.Join(shared, m[1]))
		}
	}
	return out
}

func zeekVersion(v string) string {
	switch {
	case v == "":
		return "-"
	case strings.HasPrefix(v, "TLS 1.3 (draft "):
		return "TLSv13-draft" + strings.TrimSuffix(strings.TrimPrefix(v, "TLS 1.3 (draft "), ")")
	case strings.HasPrefix(v, "TLS "):
		return "TLSv" + strings.ReplaceAll(strings.TrimPrefix(v, "TLS "), ".", "")
	case strings.HasPrefix(v, "DTLS "):
		return "DTLSv" + strings.ReplaceAll(strings.TrimPrefix(v, "DTLS "), ".", "")
	case v == "SSL 3.0":
		return "SSLv3"
	case v == "SSL 2.0":
		return "SSLv2"
	}
	return v
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tf(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

// zeekSSL says what tlsscope's JSON gives for the columns of ssl.log.
func zeekSSL(c *report.Connection) map[string]string {
	m := map[string]string{"version": zeekVersion(c.Version), "cipher": "-", "curve": "-", "server_name": "-",
		"next_protocol": "-", "last_alert": "-", "cert_chain_fps": "-"}
	if c.ServerHello != nil {
		m["cipher"] = c.ServerHello.CipherSuite
		m["next_protocol"] = dash(c.ServerHello.ALPN)
		m["curve"] = dash(c.ServerHello.KeyShareGroup)
	}
	if c.ServerKeyExchange != nil && c.ServerKeyExchange.Group != "" {
		m["curve"] = c.ServerKeyExchange.Group
	}
	if c.ClientHello != nil {
		m["server_name"] = dash(c.ClientHello.SNI)
	}
	m["resumed"] = tf(c.Outcome == "resumed")
	m["established"] = tf(c.Outcome == "complete" || c.Outcome == "resumed")
	for _, a := range c.Alerts {
		if !a.Encrypted {
			m["last_alert"] = a.Description
		}
	}
	var fps []string
	for _, x := range c.Certificates {
		fps = append(fps, x.SHA256)
	}
	if len(fps) > 0 {
		m["cert_chain_fps"] = strings.Join(fps, ",")
	}
	return m
}

func zeekX509(x report.Certificate) map[string]string {
	epoch := func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "-"
		}
		return fmt.Sprintf("%d.000000", t.Unix())
	}
	san := "-"
	if len(x.DNSNames) > 0 {
		san = strings.Join(x.DNSNames, ",")
	}
	return map[string]string{"certificate.serial": strings.ToUpper(x.Serial), "certificate.subject": x.Subject,
		"certificate.issuer": x.Issuer, "certificate.not_valid_before": epoch(x.NotBefore),
		"certificate.not_valid_after": epoch(x.NotAfter), "san.dns": san}
}

var zeekSSLFields = []string{"version", "cipher", "curve", "server_name", "resumed", "last_alert", "next_protocol", "established", "cert_chain_fps"}
var zeekX509Fields = []string{"certificate.serial", "certificate.subject", "certificate.issuer", "certificate.not_valid_before", "certificate.not_valid_after", "san.dns"}

// TestBaselines compares tlsscope with the logs Zeek's own test suite
// expects on the same captures (ssl.log and x509.log), field by field.
func TestBaselines(t *testing.T) {
	testenv.NeedShared(t, "..")
	ex := readExceptions(t, "baseline_exceptions.tsv")
	byField := map[string]*tally{}
	conns := map[string]map[int]*report.Connection{}
	load := func(capture string) map[int]*report.Connection {
		if conns[capture] == nil {
			conns[capture] = ours(t, capture)
		}
		return conns[capture]
	}
	baselines := manifestBaselines(t)
	var all []string
	for _, f := range captures(t) {
		if strings.HasPrefix(name(f), "zeek/") {
			all = append(all, f)
		}
	}
	files := make([]string, 0, len(baselines))
	for f := range baselines {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, blFile := range files {
		if !strings.HasSuffix(blFile, ".log") {
			continue
		}
		logs, err := readZeekLog(blFile)
		if err != nil {
			t.Fatal(err)
		}
		blName, _ := filepath.Rel(filepath.Join(shared, "zeek/testing/btest/Baseline"), blFile)
		for _, lg := range logs {
			for _, row := range lg.rows {
				switch lg.path {
				case "ssl":
					// Find the connection by its endpoints in the captures
					// this baseline belongs to.
					var c *report.Connection
					var where string
					// The captures of the MANIFEST row first; some baselines
					// also log traces of other rows.
					for _, capture := range append(append([]string{}, baselines[blFile]...), all...) {
						if c != nil {
							break
						}
						for _, cc := range load(capture) {
							if cc.Client == endpoint(row["id.orig_h"], row["id.orig_p"]) && cc.Server == endpoint(row["id.resp_h"], row["id.resp_p"]) {
								c, where = cc, name(capture)
							}
						}
					}
					id := row["id.orig_h"] + ":" + row["id.orig_p"]
					if c == nil {
						if !matchException(ex, blName, id, "connection") {
							t.Errorf("%s: no connection %s→%s:%s in %v", blName, id, row["id.resp_h"], row["id.resp_p"], baselines[blFile])
						}
						continue
					}
					got := zeekSSL(c)
					for _, f := range zeekSSLFields {
						want, ok := row[f]
						if !ok {
							continue
						}
						countField(t, byField, ex, "zeek ssl "+f, blName, id, where, want, got[f])
					}
					if want, ok := row["sni_matches_cert"]; ok && want != "-" {
						got := "-" // no certificate, no judgement
						if len(c.Certificates) > 0 {
							mismatch := false
							for _, fd := range c.Findings {
								mismatch = mismatch || fd.Code == "name_mismatch"
							}
							got = tf(!mismatch)
						}
						countField(t, byField, ex, "zeek ssl sni_matches_cert", blName, id, where, want, got)
					}
				case "x509":
					fp := row["fingerprint"]
					var found *report.Certificate
					var where string
					for _, capture := range baselines[blFile] {
						for _, cc := range load(capture) {
							for _, x := range append(append([]report.Certificate{}, cc.Certificates...), cc.ClientCertificates...) {
								if x.SHA256 == fp {
									x := x
									found, where = &x, name(capture)
								}
							}
						}
					}
					if found == nil {
						if !matchException(ex, blName, fp, "certificate") {
							t.Errorf("%s: certificate %s not found", blName, fp)
						}
						continue
					}
					got := zeekX509(*found)
					for _, f := range zeekX509Fields {
						if want, ok := row[f]; ok {
							countField(t, byField, ex, "zeek x509 "+f, blName, fp[:16], where, want, got[f])
						}
					}
				}
			}
		}
	}
	for _, e := range ex {
		if !e.used {
			t.Errorf("baseline_exceptions.tsv: %s %s %s is no longer needed: remove it", e.file, e.stream, e.field)
		}
	}
	writeTally(t, "Zeek baselines", byField)
}

func endpoint(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

// matchException finds the reviewed exception for a disagreement and marks it used.
func matchException(ex []*exception, file, id, field string) bool {
	for _, e := range ex {
		if e.file == file && (e.stream == "*" || e.stream == id) && e.field == field {
			e.used = true
			return true
		}
	}
	return false
}

// tallyTable is the Markdown table of the tallies by field, sorted, with
// their total.
func tallyTable(title string, byField map[string]*tally) (string, tally) {
	var b strings.Builder
	var total tally
	fmt.Fprintf(&b, "%s\n| field | compared | agree | explained exceptions |\n|---|---:|---:|---:|\n", title)
	for _, k := range slices.Sorted(maps.Keys(byField)) {
		x := byField[k]
		total.compared += x.compared
		total.agreed += x.agreed
		total.excepted += x.excepted
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", k, x.compared, x.agreed, x.excepted)
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %d |\n", total.compared, total.agreed, total.excepted)
	return b.String(), total
}

func countField(t *testing.T, byField map[string]*tally, ex []*exception, field, file, id, capture, want, got string) {
	if byField[field] == nil {
		byField[field] = &tally{}
	}
	x := byField[field]
	x.compared++
	switch {
	case want == got:
		x.agreed++
	case matchException(ex, file, id, field):
		x.excepted++
	default:
		t.Errorf("%s (%s) %s %s:\n  baseline %q\n  tlsscope %q", file, capture, id, field, want, got)
	}
}

func writeTally(t *testing.T, title string, byField map[string]*tally) {
	table, _ := tallyTable(title, byField)
	t.Log("\n" + table)
	if *reportFile != "" {
		f, err := os.OpenFile(*reportFile, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			fmt.Fprintf(f, "\n%s", table)
			f.Close()
		}
	}
	_ = strconv.Itoa
}
