package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// merged is what tlsscope says of several captures given together.
func merged(t *testing.T, files ...string) []*Connection {
	t.Helper()
	var srcs []capture.Source
	for _, f := range files {
		src, err := capture.OpenFile(filepath.Join(testdata, f))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	m := capture.NewMerge(srcs)
	defer m.Close()
	a := flows.NewAnalyzer(flows.DefaultOptions)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	var out []*Connection
	for _, r := range a.Finish() {
		out = append(out, Build(r))
	}
	return out
}

// TestVantageFindings: the netlab captures at the client's and the
// server's side of the router, given together.
func TestVantageFindings(t *testing.T) {
	sch := compileSchema(t)
	cases := []struct {
		files       []string
		want, never []string
		verdict     string
		says        []string // in loss_between_vantage_points
	}{
		{[]string{"netlab/openssl-tls13.client.pcap", "netlab/openssl-tls13.server.pcap"}, nil,
			[]string{"client_hello_retransmitted", "server_flight_retransmitted", "loss_between_vantage_points"}, "complete in 3 ms", nil},
		{[]string{"netlab/mtu-blackhole.client.pcap", "netlab/mtu-blackhole.server.pcap"}, []string{"loss_between_vantage_points", "path_mtu_blackhole"}, nil,
			"client waited 3.0 s for ServerHello", []string{"8 packets (10.8 KiB) from the server", "(input 2, frames 8, 9, 10, 11, 14, 15, 16, 17)",
				"near the client (input 1)", "(input 2 frame 19) is there as frame 11", "server→client"}},
		{[]string{"netlab/drop-client-hello-first-segment.server.pcap", "netlab/drop-client-hello-first-segment.client.pcap"}, []string{"loss_between_vantage_points"}, nil,
			"server waited", []string{"1 packet (524 bytes) from the client", "(input 2, frame 6)", "near the server (input 1)", "(input 2 frame 7) is there as frame 6", "client→server"}},
	}
	for _, tc := range cases {
		what := strings.Join(tc.files, " + ")
		conns := merged(t, tc.files...)
		if len(conns) != 1 {
			t.Fatalf("%s: %d connections, want 1", what, len(conns))
		}
		c := conns[0]
		checkVerdict(t, what, c, tc.want, tc.never, tc.verdict)
		for _, f := range c.Findings {
			if f.Code != "loss_between_vantage_points" {
				continue
			}
			if f.Severity != SevWarning {
				t.Errorf("%s: %s is %s", what, f.Code, f.Severity)
			}
			for _, s := range tc.says {
				if !strings.Contains(f.Message, s) {
					t.Errorf("%s: %q does not say %q", what, f.Message, s)
				}
			}
		}
		if c.TCP.Vantage == nil || c.TCP.Vantage.Copies == 0 {
			t.Errorf("%s: no tcp.vantage", what)
		}
		out := render(t, "json", conns, false)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(bytes.TrimSpace(out)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %v\n%s", what, err, out)
		}
	}
}

// TestVantageSchemaRejects: the schema of tcp.vantage is no rubber stamp.
func TestVantageSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	head := `{"stream":0,"transport":"tcp","client":"10.81.1.2:40001","server":"10.81.2.2:443","client_ip":"10.81.1.2","client_port":40001,"server_ip":"10.81.2.2","server_port":443,"community_id":"1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=","start":"2026-03-02T10:00:00Z","duration_ms":1,"outcome":"complete","verdict":"","reason":"finished","established":true,"resumed":false,"ended_by":"fin","tcp":{"retransmissions":[0,0],"bytes":[0,0],"vantage":`
	good := `{"copies":3,"client_input":1,"server_input":2,"lost":[{"from":"server","packets":1,"bytes":1448,"input":2,"frames":[8],"missing_input":1,"later_frame":19,"missing_frame":11}]}`
	for _, x := range []struct {
		vantage string
		ok      bool
	}{
		{good, true},
		{`{"client_input":1}`, false}, // no copies
		{strings.Replace(good, `"server"`, `"router"`, 1), false},
		{strings.Replace(good, `"input":2`, `"input":0`, 1), false}, // inputs count from 1
		{strings.Replace(good, `"frames":[8],`, ``, 1), false},
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(head + x.vantage + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != x.ok {
			t.Errorf("vantage %s: valid %v, want %v (%v)", x.vantage, err == nil, x.ok, err)
		}
	}
}
