package flows_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

// TestLiveResultsAreSnapshots hands live results to a consumer goroutine,
// as the command does, while the analysis goes on: a provisional stall of
// tls13-full.pcap's connection (its server held back 2.5 s after the
// ClientHello; the capture has no ACK of it, so beyond 3 s, with the client
// retransmitting nothing, no TCP would be that quiet and the verdict is
// missing_acks instead), then the completed handshake. The stall must stay what it
// was when it was said, and under -race (make test-long) no write of the
// analysis may meet a read of the consumer.
func TestLiveResultsAreSnapshots(t *testing.T) {
	src, err := capture.OpenFile(filepath.Join("../testdata", "tls13-full.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pkts, err := capture.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	const afterClientHello = 5 // SYN, SYN-ACK, ACK and the ClientHello in two segments
	const hold = 2500 * time.Millisecond

	type seen struct {
		r    *flows.Result
		json string // the result as the consumer read it when it came
	}
	results := make(chan *flows.Result)
	consumed := make(chan seen)
	go func() {
		defer close(consumed)
		for r := range results {
			b, err := json.Marshal(report.Build(r))
			if err != nil {
				t.Error(err)
			}
			consumed <- seen{r, string(b)}
		}
	}()
	var got []seen
	collect := make(chan struct{})
	go func() {
		for s := range consumed {
			got = append(got, s)
		}
		close(collect)
	}()

	a := flows.NewAnalyzer(flows.Options{Live: true, StallTimeout: 2 * time.Second})
	a.OnResult = func(r *flows.Result) { results <- r }
	for _, p := range pkts[:afterClientHello] {
		a.Packet(p.Data, p.CI, p.Link)
	}
	a.Tick(pkts[afterClientHello-1].CI.Timestamp.Add(hold))
	for _, p := range pkts[afterClientHello:] {
		ci := p.CI
		ci.Timestamp = ci.Timestamp.Add(hold)
		a.Packet(p.Data, ci, p.Link)
	}
	for _, r := range a.Finish() {
		results <- r
	}
	close(results)
	<-collect

	if len(got) != 2 {
		t.Fatalf("%d results, want a provisional stall and its update", len(got))
	}
	stall, final := got[0], got[1]
	if r := stall.r; r.Outcome != flows.Stalled || !r.Open || r.Stall == nil || r.Stall.Next.String() != "ServerHello" {
		t.Errorf("first result: %s open %v stall %+v; want an open stall owing ServerHello", r.Outcome, r.Open, r.Stall)
	}
	if r := final.r; r.Outcome != flows.Complete || !r.Update || r.HS.ServerHello == nil {
		t.Errorf("final result: %s update %v; want complete, an update", r.Outcome, r.Update)
	}
	// The stall said while open is unchanged by what came after it.
	if stall.r.HS.ServerHello != nil || len(stall.r.HS.Messages) != 1 {
		t.Errorf("the stall's handshake changed after it was said: ServerHello %v, %d messages", stall.r.HS.ServerHello != nil, len(stall.r.HS.Messages))
	}
	again, _ := json.Marshal(report.Build(stall.r))
	if string(again) != stall.json {
		t.Errorf("the stall reads differently after the analysis went on:\nthen %s\nnow  %s", stall.json, again)
	}
}
