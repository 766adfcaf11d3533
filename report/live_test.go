package report

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// TestLiveLineTime: a live line starts with the capture time of its
// verdict, in local time: the last packet, or when a stall was called.
func TestLiveLineTime(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("UTC+1", 3600)
	conns := connections(t, filepath.Join(testdata, "demo.pcapng"))
	// Stream 1 ends with the client's FIN at 10:00:01.0404 UTC.
	if got := Line(conns[1], false); !strings.HasPrefix(got, "11:00:01.040  stream 1  ") {
		t.Errorf("failed handshake: %q", got)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	r := *conns[2].Result()
	r.End, r.Stall = t0, &flows.Stall{Since: t0, Silent: 2500 * time.Millisecond}
	r.Update = true
	if got := Line(Build(&r), false); !strings.HasPrefix(got, "11:00:02.500  update: stream 2  ") {
		t.Errorf("stall: %q", got)
	}
	if got := Line(&Connection{Stream: 3}, false); !strings.HasPrefix(got, "stream 3") {
		t.Errorf("no result: %q", got)
	}
}
