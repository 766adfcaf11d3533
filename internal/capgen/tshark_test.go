package capgen

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestTSharkSeesHandshakes reads every committed capture with tshark and
// checks it finds the intended handshake messages and alerts per TCP
// stream: the captures are real TLS, not just readable by our own code.
// The tshark run is the one the differential tests share (cached).
func TestTSharkSeesHandshakes(t *testing.T) {
	var files []string
	for _, s := range Scenarios() {
		files = append(files, filepath.Join(testdata, s.Name))
	}
	testenv.PrefetchHandshakes(t, files)
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			frames, err := testenv.TSharkHandshakes(t, filepath.Join(testdata, s.Name))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string][]string{}
			for _, f := range frames {
				stream := f.First("tcp.stream")
				seen[stream] = append(seen[stream], f["tls.handshake.type"]...)
				if desc := f["tls.alert_message.desc"]; len(desc) > 0 {
					seen[stream] = append(seen[stream], "alert:"+strings.Join(desc, ","))
				}
			}
			if len(seen) != len(s.Expect) {
				t.Errorf("tshark sees handshakes on %d streams, want %d: %v", len(seen), len(s.Expect), seen)
			}
			for stream, want := range s.Expect {
				got := strings.Join(seen[itoa(stream)], ",")
				if got != want {
					t.Errorf("stream %d: tshark sees %q, want %q", stream, got, want)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
