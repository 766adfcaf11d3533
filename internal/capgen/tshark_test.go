package capgen

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestTSharkSeesHandshakes reads every committed capture with tshark and
// checks it finds the intended handshake messages and alerts per TCP
// stream: the captures are real TLS, not just readable by our own code.
func TestTSharkSeesHandshakes(t *testing.T) {
	tshark := testenv.TShark(t)
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			out, err := exec.Command(tshark, "-n", "-r", filepath.Join(testdata, s.Name),
				"-Y", "tls.handshake.type or tls.alert_message.desc",
				"-T", "fields", "-E", "separator=/t", "-e", "tcp.stream", "-e", "tls.handshake.type", "-e", "tls.alert_message.desc").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			seen := map[string][]string{}
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				f := strings.Split(line, "\t")
				if len(f) < 3 {
					continue
				}
				if f[1] != "" {
					seen[f[0]] = append(seen[f[0]], strings.Split(f[1], ",")...)
				}
				if f[2] != "" {
					seen[f[0]] = append(seen[f[0]], "alert:"+f[2])
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
