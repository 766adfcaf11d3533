// Package duckdbtest loads tlsscope's JSON Lines into a real DuckDB and runs
// the example queries of QUERIES.md (the README's "Querying the JSON Lines")
// on the test captures, each result checked against the same numbers
// computed in Go from the same JSON. It is its own module so that DuckDB
// (cgo, a static library of some 100 MB) never enters tlsscope's.
package duckdbtest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// The queries, verbatim as QUERIES.md shows them (TestQueriesDocumented
// checks it): conns.jsonl is tlsscope --format json's output.
const (
	loadSQL = `CREATE TABLE conn AS
  SELECT * FROM read_json('conns.jsonl', format = 'newline_delimited', sample_size = -1)
  WHERE stream IS NOT NULL;`

	outcomesByServerSQL = `SELECT server_ip, outcome, count(*) AS n
FROM conn
GROUP BY server_ip, outcome
ORDER BY server_ip, n DESC, outcome;`

	failingSNIsSQL = `SELECT coalesce(client_hello.sni, '(no SNI)') AS sni,
       count(*) AS n,
       count_if(outcome = 'failed')  AS failed,
       count_if(outcome = 'stalled') AS stalled,
       count_if(outcome = 'reset')   AS reset,
       count_if(outcome = 'closed')  AS closed
FROM conn
WHERE outcome IN ('failed', 'stalled', 'reset', 'closed')
GROUP BY sni
ORDER BY n DESC, sni
LIMIT 10;`

	handshakeTimeSQL = `SELECT count(timing.handshake_ms) AS n,
       quantile_cont(timing.handshake_ms, 0.5)  AS p50_ms,
       quantile_cont(timing.handshake_ms, 0.95) AS p95_ms
FROM conn
WHERE outcome = 'complete';`

	stallsSQL = `SELECT stall.next AS owed, stall.waiting_for AS waiting_for, count(*) AS n
FROM conn
WHERE outcome = 'stalled'
GROUP BY owed, waiting_for
ORDER BY n DESC, owed, waiting_for;`

	communityIDUniqueSQL = `SELECT count(*) AS connections, count(DISTINCT community_id) AS flows
FROM conn;`

	loadZeekSQL = `CREATE TABLE zeek AS
  SELECT * FROM read_json('conn.log', format = 'newline_delimited');`

	zeekJoinSQL = `SELECT z.uid, c.outcome, c.verdict, z.duration, z.conn_state
FROM conn c JOIN zeek z USING (community_id)
WHERE c.outcome NOT IN ('complete', 'resumed')
ORDER BY z.uid;`
)

// Set by TestMain.
var (
	jsonlPath string // tlsscope's output over every capture, with the shim (derive)
	records   []conn
	rawCount  int
	// dropsRecords counts the "type": "drops" records (not connections).
	dropsRecords int
	shimmed      map[string]int // field -> connections it was derived for
	contract     []string       // disagreements between tlsscope's new fields and the derivation
)

// conn is what the queries use of one JSON Lines object, decoded with
// encoding/json (not report's types) for the expectations.
type conn struct {
	Stream      int    `json:"stream"`
	Client      string `json:"client"`
	Server      string `json:"server"`
	ServerIP    string `json:"server_ip"`
	CommunityID string `json:"community_id"`
	Outcome     string `json:"outcome"`
	Verdict     string `json:"verdict"`
	ClientHello *struct {
		SNI *string `json:"sni"`
	} `json:"client_hello"`
	Timing *struct {
		HandshakeMS *float64 `json:"handshake_ms"`
	} `json:"timing"`
	Stall *struct {
		Next       string `json:"next"`
		WaitingFor string `json:"waiting_for"`
	} `json:"stall"`
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "duckdbtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	err = setup(dir)
	code := 2
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckdbtest:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup builds tlsscope (through the replace in go.mod: the worktree's
// code), runs it over every capture in testdata/ merged into one run, and
// writes its JSON Lines to dir/conns.jsonl.
func setup(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "tlsscope")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/tlsscope/tlsscope/cmd/tlsscope")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building tlsscope: %v\n%s", err, out)
	}
	captures, err := filepath.Glob("../../testdata/*.pcap*")
	if err != nil {
		return err
	}
	if len(captures) < 50 {
		return fmt.Errorf("only %d captures in ../../testdata", len(captures))
	}
	sort.Strings(captures)
	var stdout, stderr bytes.Buffer
	run := exec.Command(bin, append([]string{"--format", "json", "--exit-zero"}, captures...)...)
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		return fmt.Errorf("tlsscope: %v\n%s", err, stderr.Bytes())
	}
	out, err := derive(stdout.Bytes())
	if err != nil {
		return err
	}
	jsonlPath = filepath.Join(dir, "conns.jsonl")
	return os.WriteFile(jsonlPath, out, 0o644)
}

// derive fills in client_ip, client_port, server_ip, server_port and
// community_id where tlsscope's output lacks them (before they merge), from
// client and server; where tlsscope has them, it checks they agree with the
// derivation (contract), so the same test checks the real fields after the
// merge. It also decodes the records for the expectations.
func derive(jsonl []byte) ([]byte, error) {
	shimmed = map[string]int{}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("line %d: %v", rawCount+1, err)
		}
		if obj["type"] == "drops" {
			// The record of what the capture dropped (capture-dropped.pcapng's
			// tool): no connection, left out by the load's WHERE.
			dropsRecords++
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		rawCount++
		cs, _ := obj["client"].(string)
		ss, _ := obj["server"].(string)
		client, err1 := netip.ParseAddrPort(cs)
		server, err2 := netip.ParseAddrPort(ss)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: client %q, server %q: not ip:port", rawCount, cs, ss)
		}
		want := map[string]any{
			"client_ip":    client.Addr().String(),
			"client_port":  float64(client.Port()),
			"server_ip":    server.Addr().String(),
			"server_port":  float64(server.Port()),
			"community_id": communityID(client, server, 6, 0),
		}
		// tlsscope's line as it is (its key order is the structs' field
		// order in DuckDB), the derived keys appended.
		b := bytes.TrimRight(slices.Clone(line), " \r\n")
		b = b[:len(b)-1] // the closing brace
		for _, k := range slices.Sorted(maps.Keys(want)) {
			got, ok := obj[k]
			if !ok {
				v, _ := json.Marshal(want[k])
				b = fmt.Appendf(b, ",%q:%s", k, v)
				shimmed[k]++
				continue
			}
			if got != want[k] {
				contract = append(contract, fmt.Sprintf("stream %v (%s -> %s): %s is %v, want %v", obj["stream"], cs, ss, k, got, want[k]))
			}
		}
		b = append(b, '}')
		var c conn
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, err
		}
		records = append(records, c)
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes(), sc.Err()
}

// communityID is Community ID v1 (https://github.com/corelight/community-id-spec),
// written here from the spec, independent of tlsscope's: "1:" +
// base64(SHA-1(seed || saddr || daddr || proto || 0 || sport || dport)),
// the smaller endpoint first.
func communityID(a, b netip.AddrPort, proto uint8, seed uint16) string {
	if c := a.Addr().Unmap().Compare(b.Addr().Unmap()); c > 0 || (c == 0 && a.Port() > b.Port()) {
		a, b = b, a
	}
	addr := func(x netip.Addr) []byte {
		x = x.Unmap()
		if x.Is4() {
			v := x.As4()
			return v[:]
		}
		v := x.As16()
		return v[:]
	}
	h := sha1.New()
	h.Write([]byte{byte(seed >> 8), byte(seed)})
	h.Write(addr(a.Addr()))
	h.Write(addr(b.Addr()))
	h.Write([]byte{proto, 0, byte(a.Port() >> 8), byte(a.Port()), byte(b.Port() >> 8), byte(b.Port())})
	return "1:" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// openDB is a fresh in-memory DuckDB with conns.jsonl loaded by loadSQL.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // one in-memory database: every query on the same connection
	if _, err := db.Exec(strings.ReplaceAll(loadSQL, "'conns.jsonl'", quote(jsonlPath))); err != nil {
		t.Fatalf("loading: %v", err)
	}
	return db
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// rows runs q and returns every row as strings (NULL as "NULL", floats with %g).
func rows(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	r, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer r.Close()
	cols, _ := r.Columns()
	var all [][]string
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				row[i] = "NULL"
			case float64:
				row[i] = fmt.Sprintf("%g", v)
			default:
				row[i] = fmt.Sprint(v)
			}
		}
		all = append(all, row)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}

func same(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n DuckDB %v\n Go     %v", what, got, want)
	}
}

func TestLoaded(t *testing.T) {
	db := openDB(t)
	for k, n := range shimmed {
		t.Logf("%s absent from tlsscope's output for %d of %d connections: derived from client/server for the queries", k, n, rawCount)
	}
	for _, c := range contract {
		t.Errorf("tlsscope's field disagrees with the derivation: %s", c)
	}
	same(t, "connections", rows(t, db, "SELECT count(*) FROM conn"), [][]string{{fmt.Sprint(rawCount)}})
	if rawCount != 92 || dropsRecords != 1 {
		t.Errorf("%d connections and %d drops records in the merged captures, want 92 and 1 (capture-dropped.pcapng's tool)", rawCount, dropsRecords)
	}
	// The nested fields the queries use keep their types.
	types := rows(t, db, `SELECT typeof(client_hello.sni), typeof(timing.handshake_ms), typeof(stall.next), typeof(findings) FROM conn LIMIT 1`)
	want := [][]string{{"VARCHAR", "DOUBLE", "VARCHAR", "STRUCT(severity VARCHAR, code VARCHAR, message VARCHAR, frames BIGINT[])[]"}}
	same(t, "types", types, want)
}

func TestOutcomesByServer(t *testing.T) {
	db := openDB(t)
	got := rows(t, db, outcomesByServerSQL)

	type key struct{ ip, outcome string }
	n := map[key]int{}
	for _, c := range records {
		n[key{c.ServerIP, c.Outcome}]++
	}
	keys := slices.Collect(maps.Keys(n))
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.ip != b.ip {
			return a.ip < b.ip
		}
		if n[a] != n[b] {
			return n[a] > n[b]
		}
		return a.outcome < b.outcome
	})
	var want [][]string
	for _, k := range keys {
		want = append(want, []string{k.ip, k.outcome, fmt.Sprint(n[k])})
	}
	same(t, "outcomes by server", got, want)

	// Read off the JSON with jq: the IPv6 capture's two connections, and
	// the rest on 198.51.100.20 (port 443, the SOCKS5 ones on 1080).
	literal := [][]string{
		{"198.51.100.20", "complete", "47"},
		{"198.51.100.20", "failed", "14"},
		{"198.51.100.20", "stalled", "9"},
		{"198.51.100.20", "reset", "6"},
		{"198.51.100.20", "closed", "5"},
		{"198.51.100.20", "resumed", "4"},
		{"198.51.100.20", "incomplete", "3"},
		{"198.51.100.20", "not_observed", "2"},
		{"2001:db8:1::20", "complete", "2"},
	}
	same(t, "outcomes by server (literal)", got, literal)
}

func TestFailingSNIs(t *testing.T) {
	db := openDB(t)
	got := rows(t, db, failingSNIsSQL)

	outcomes := []string{"failed", "stalled", "reset", "closed"}
	per := map[string][]int{} // sni -> total, then per outcome
	for _, c := range records {
		i := slices.Index(outcomes, c.Outcome)
		if i < 0 {
			continue
		}
		sni := "(no SNI)"
		if c.ClientHello != nil && c.ClientHello.SNI != nil {
			sni = *c.ClientHello.SNI
		}
		if per[sni] == nil {
			per[sni] = make([]int, 1+len(outcomes))
		}
		per[sni][0]++
		per[sni][1+i]++
	}
	snis := slices.Collect(maps.Keys(per))
	sort.Slice(snis, func(i, j int) bool {
		if per[snis[i]][0] != per[snis[j]][0] {
			return per[snis[i]][0] > per[snis[j]][0]
		}
		return snis[i] < snis[j]
	})
	var want [][]string
	for _, s := range snis[:min(10, len(snis))] {
		row := []string{s}
		for _, v := range per[s] {
			row = append(row, fmt.Sprint(v))
		}
		want = append(want, row)
	}
	same(t, "failing SNIs", got, want)
	same(t, "failing SNIs (literal)", got, [][]string{
		{"shop.example", "20", "6", "7", "3", "4"},
		{"cert.example", "9", "8", "0", "0", "1"},
		{"(no SNI)", "5", "0", "2", "3", "0"},
	})
}

// quantileCont is DuckDB's quantile_cont: linear interpolation between the
// closest ranks, at (n-1)*q.
func quantileCont(xs []float64, q float64) float64 {
	xs = slices.Sorted(slices.Values(xs))
	h := float64(len(xs)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[i]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}

func TestHandshakeTime(t *testing.T) {
	db := openDB(t)
	var n int64
	var p50, p95 float64
	if err := db.QueryRow(handshakeTimeSQL).Scan(&n, &p50, &p95); err != nil {
		t.Fatal(err)
	}
	var ms []float64
	for _, c := range records {
		if c.Outcome == "complete" && c.Timing != nil && c.Timing.HandshakeMS != nil {
			ms = append(ms, *c.Timing.HandshakeMS)
		}
	}
	if int(n) != len(ms) {
		t.Errorf("complete handshakes with a time: DuckDB %d, Go %d", n, len(ms))
	}
	for _, c := range []struct {
		name      string
		q, got, w float64
	}{
		{"p50", 0.5, p50, 40.35},
		{"p95", 0.95, p95, 40.5775},
	} {
		if want := quantileCont(ms, c.q); math.Abs(c.got-want) > 0.01 {
			t.Errorf("%s: DuckDB %g ms, Go %g ms", c.name, c.got, want)
		}
		if math.Abs(c.got-c.w) > 0.01 {
			t.Errorf("%s: %g ms, want %g (read off the JSON)", c.name, c.got, c.w)
		}
	}
	// The captures have four handshake times only (19 of 20.3 ms, 2 of
	// 24.35, 22 of 40.35, 2 of 40.7), so p50 and p95 fall on 40.35; other
	// quantiles check the interpolation between ranks against Go's.
	for _, q := range []float64{0.1, 0.25, 0.45, 0.46, 0.48, 0.75, 0.97, 0.99} {
		var got float64
		if err := db.QueryRow(`SELECT quantile_cont(timing.handshake_ms, ?) FROM conn WHERE outcome = 'complete'`, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := quantileCont(ms, q); math.Abs(got-want) > 0.01 {
			t.Errorf("quantile %g: DuckDB %g ms, Go %g ms", q, got, want)
		}
	}
	if n != 48 {
		t.Errorf("%d complete handshakes with a time, want 48 (49 complete, one without a ClientHello)", n)
	}
}

func TestStallsByOwedMessage(t *testing.T) {
	db := openDB(t)
	got := rows(t, db, stallsSQL)

	type key struct{ next, waiting string }
	n := map[key]int{}
	for _, c := range records {
		if c.Outcome != "stalled" {
			continue
		}
		k := key{"NULL", "NULL"}
		if c.Stall != nil {
			k = key{c.Stall.Next, c.Stall.WaitingFor}
		}
		n[k]++
	}
	keys := slices.Collect(maps.Keys(n))
	sort.Slice(keys, func(i, j int) bool {
		if n[keys[i]] != n[keys[j]] {
			return n[keys[i]] > n[keys[j]]
		}
		if keys[i].next != keys[j].next {
			return keys[i].next < keys[j].next
		}
		return keys[i].waiting < keys[j].waiting
	})
	var want [][]string
	for _, k := range keys {
		want = append(want, []string{k.next, k.waiting, fmt.Sprint(n[k])})
	}
	same(t, "stalls by owed message", got, want)
	same(t, "stalls by owed message (literal)", got, [][]string{
		{"ServerHello", "server", "4"},
		{"ClientHello", "client", "3"},
		{"ChangeCipherSpec", "server", "1"},
		{"SYN-ACK", "server", "1"},
	})
}

func TestCommunityID(t *testing.T) {
	db := openDB(t)
	distinct := map[string]bool{}
	for _, c := range records {
		distinct[c.CommunityID] = true
	}
	same(t, "community_id unique", rows(t, db, communityIDUniqueSQL),
		[][]string{{fmt.Sprint(len(records)), fmt.Sprint(len(distinct))}})
	if len(distinct) != len(records) {
		t.Errorf("%d community IDs for %d connections: want one per connection (every capture's flows differ)", len(distinct), len(records))
	}

	// The join: a Zeek conn.log (JSON) of the same flows, with the
	// community_id Zeek computes (here: the spec's computation in Go, from
	// Zeek's own id.* fields), matches tlsscope's connections.
	var zeek bytes.Buffer
	wantRows := [][]string{}
	type zrow struct{ uid, outcome, verdict string }
	var zs []zrow
	for i, c := range records {
		client, server := netip.MustParseAddrPort(c.Client), netip.MustParseAddrPort(c.Server)
		uid := fmt.Sprintf("C%03d", i)
		line, _ := json.Marshal(map[string]any{
			"ts": 1772445600.0 + float64(i), "uid": uid,
			"id.orig_h": client.Addr().String(), "id.orig_p": client.Port(),
			"id.resp_h": server.Addr().String(), "id.resp_p": server.Port(),
			"proto": "tcp", "duration": 1.5, "conn_state": "SF",
			"community_id": communityID(server, client, 6, 0), // the order does not matter
		})
		zeek.Write(line)
		zeek.WriteByte('\n')
		if c.Outcome != "complete" && c.Outcome != "resumed" {
			zs = append(zs, zrow{uid, c.Outcome, c.Verdict})
		}
	}
	sort.Slice(zs, func(i, j int) bool { return zs[i].uid < zs[j].uid })
	for _, z := range zs {
		wantRows = append(wantRows, []string{z.uid, z.outcome, z.verdict, "1.5", "SF"})
	}
	zpath := filepath.Join(filepath.Dir(jsonlPath), "conn.log")
	if err := os.WriteFile(zpath, zeek.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(strings.ReplaceAll(loadZeekSQL, "'conn.log'", quote(zpath))); err != nil {
		t.Fatal(err)
	}
	got := rows(t, db, zeekJoinSQL)
	same(t, "join with Zeek's conn.log on community_id", got, wantRows)
	if len(got) != 39 {
		t.Errorf("%d connections joined that did not complete, want 39 (92 less 49 complete and 4 resumed)", len(got))
	}
}

// TestQueriesDocumented: the queries above are the ones QUERIES.md (or the
// README, once they move there) shows.
func TestQueriesDocumented(t *testing.T) {
	var docs []byte
	for _, f := range []string{"QUERIES.md", "../../README.md"} {
		b, err := os.ReadFile(f)
		if err == nil {
			docs = append(docs, b...)
		}
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	text := norm(string(docs))
	for name, q := range map[string]string{
		"load": loadSQL, "outcomes by server": outcomesByServerSQL, "failing SNIs": failingSNIsSQL,
		"handshake time": handshakeTimeSQL, "stalls": stallsSQL, "community_id": communityIDUniqueSQL,
		"load zeek": loadZeekSQL, "zeek join": zeekJoinSQL,
	} {
		if !strings.Contains(text, norm(q)) {
			t.Errorf("the %s query is not in QUERIES.md or the README:\n%s", name, q)
		}
	}
}

// TestCommunityIDSpec: the spec's own example (community-id-spec README).
func TestCommunityIDSpec(t *testing.T) {
	a := netip.MustParseAddrPort("128.232.110.120:34855")
	b := netip.MustParseAddrPort("66.35.250.204:80")
	const want = "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
	if got := communityID(a, b, 6, 0); got != want {
		t.Errorf("communityID = %s, want %s", got, want)
	}
	if got := communityID(b, a, 6, 0); got != want {
		t.Errorf("communityID reversed = %s, want %s", got, want)
	}
}

// TestDeriveChecksPresentFields: once tlsscope writes the fields, derive
// keeps them and reports any that disagree with client and server.
func TestDeriveChecksPresentFields(t *testing.T) {
	savedRecords, savedCount, savedShimmed, savedContract := records, rawCount, shimmed, contract
	defer func() { records, rawCount, shimmed, contract = savedRecords, savedCount, savedShimmed, savedContract }()
	records, rawCount, contract = nil, 0, nil

	c, s := netip.MustParseAddrPort("[2001:db8::10]:42266"), netip.MustParseAddrPort("[2001:db8:1::20]:443")
	good := fmt.Sprintf(`{"stream":1,"client":"%s","server":"%s","outcome":"complete","client_ip":"2001:db8::10","client_port":42266,"server_ip":"2001:db8:1::20","server_port":443,"community_id":%q}`, c, s, communityID(c, s, 6, 0))
	bad := `{"stream":2,"client":"192.0.2.10:40000","server":"198.51.100.20:443","outcome":"failed","server_ip":"198.51.100.21","server_port":443}`
	out, err := derive([]byte(good + "\n" + bad + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != good {
		t.Errorf("a line with every field changed:\n%s\nwant\n%s", lines[0], good)
	}
	if len(contract) != 1 || !strings.Contains(contract[0], "server_ip is 198.51.100.21, want 198.51.100.20") {
		t.Errorf("contract = %q, want the one wrong server_ip", contract)
	}
	if shimmed["client_ip"] != 1 || shimmed["server_ip"] != 0 {
		t.Errorf("shimmed = %v, want client_ip derived once (line 2), server_ip never", shimmed)
	}
	if len(records) != 2 || records[1].ServerIP != "198.51.100.21" {
		t.Errorf("records = %+v", records)
	}
}
