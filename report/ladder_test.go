package report

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// ladderLossCaptures have loss, capture gaps or retransmissions in the
// handshake: capgen's and real stacks' (netlab).
var ladderLossCaptures = []string{
	"capture-gap-certificate.pcap",
	"mtu-blackhole-client-side.pcap",
	"mtu-blackhole-server-side.pcap",
	"client-hello-lost-client-side.pcap",
	"client-hello-lost-long-wait.pcap",
	"server-flight-shuffled.pcap",
	"netlab/mtu-blackhole.client.pcap",
	"netlab/mtu-blackhole.server.pcap",
	"netlab/mtu-blackhole-one-segment.client.pcap",
	"netlab/mtu-blackhole-one-segment.server.pcap",
	"netlab/drop-client-hello.client.pcap",
	"netlab/drop-client-hello-first-segment.client.pcap",
	"netlab/drop-client-hello-first-segment.server.pcap",
	"netlab/mtu-icmp.server.pcap",
}

// withHoles are those of them whose hole the reassembler gives up on.
var withHoles = []string{
	"capture-gap-certificate.pcap",
	"mtu-blackhole-client-side.pcap",
	"netlab/mtu-blackhole.client.pcap",
	"netlab/mtu-blackhole-one-segment.client.pcap",
	"netlab/drop-client-hello-first-segment.server.pcap",
}

var (
	textFrame    = regexp.MustCompile(`^#(\d+) `)
	mermaidFrame = regexp.MustCompile(`\(frame (\d+)\)$`)
	htmlFrame    = regexp.MustCompile(` #(\d+)$`)
	runFrames    = regexp.MustCompile(`frames (\d+)–(\d+)`)
	holeRow      = regexp.MustCompile(`TCP (gap|loss) \(|^(capture|network) loss \(`)
)

// frameRow is a ladder line: its frame (0: none) and its text.
type frameRow struct {
	frame int64
	text  string
}

func rowsOf(lines []string, re *regexp.Regexp) []frameRow {
	var rows []frameRow
	for _, l := range lines {
		r := frameRow{text: l}
		if m := re.FindStringSubmatch(l); m != nil {
			r.frame, _ = strconv.ParseInt(m[1], 10, 64)
		}
		rows = append(rows, r)
	}
	return rows
}

// threeLadders are c's ladders as text (Ladder), Mermaid and HTML rows.
func threeLadders(c *Connection) map[string][]frameRow {
	var mermaid, html []string
	for _, st := range sequenceOf(c).steps {
		text := st.text
		if st.frame > 0 {
			text += " (frame " + strconv.FormatInt(st.frame, 10) + ")"
		}
		mermaid = append(mermaid, text)
	}
	for _, st := range buildLadder(c).Steps {
		html = append(html, st.Label)
	}
	return map[string][]frameRow{
		"text":    rowsOf(Ladder(c), textFrame),
		"mermaid": rowsOf(mermaid, mermaidFrame),
		"html":    rowsOf(html, htmlFrame),
	}
}

// TestLadderFrames: in every ladder the rows come in the order of their
// frames; a gap or loss is told at the segment after the hole, where
// tshark says "previous segment not captured"; and every retransmission
// tshark sees is on its own row or in a run whose frames hold it.
func TestLadderFrames(t *testing.T) {
	for _, file := range ladderLossCaptures {
		path := filepath.Join(testdata, file)
		out, err := testenv.TSharkOutput(t, path, append(testenv.TSharkArgs(path), "-Y",
			"tcp.analysis.lost_segment || tcp.analysis.retransmission", "-T", "fields", "-e", "tcp.stream", "-e", "frame.number", "-e", "tcp.analysis.lost_segment")...)
		if err != nil {
			t.Fatalf("%s: tshark: %v", file, err)
		}
		lost, retrans := map[int][]int64{}, map[int][]int64{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(l, "\t")
			if len(f) < 3 {
				continue
			}
			stream, _ := strconv.Atoi(f[0])
			frame, _ := strconv.ParseInt(f[1], 10, 64)
			if f[2] != "" {
				lost[stream] = append(lost[stream], frame)
			} else {
				retrans[stream] = append(retrans[stream], frame)
			}
		}
		for _, c := range connections(t, path) {
			what := file + " stream " + strconv.Itoa(c.Stream)
			for name, rows := range threeLadders(c) {
				var prev int64
				var holes, resent []int64
				for _, r := range rows {
					if r.frame == 0 {
						continue
					}
					if r.frame < prev {
						t.Errorf("%s, %s ladder: frame %d after frame %d: %q", what, name, r.frame, prev, r.text)
					}
					prev = r.frame
					switch {
					case holeRow.MatchString(r.text):
						holes = append(holes, r.frame)
					case strings.Contains(r.text, "TCP retransmission"):
						resent = append(resent, r.frame)
						if m := runFrames.FindStringSubmatch(r.text); m != nil {
							a, _ := strconv.ParseInt(m[1], 10, 64)
							b, _ := strconv.ParseInt(m[2], 10, 64)
							for _, x := range retrans[c.Stream] {
								if a < x && x <= b {
									resent = append(resent, x)
								}
							}
						}
					}
				}
				// tshark says it of reordered segments too (server-flight-shuffled):
				// every hole of ours is one of its, not the other way.
				for _, x := range holes {
					if !slices.Contains(lost[c.Stream], x) {
						t.Errorf("%s, %s ladder: a gap or loss row at frame %d, where tshark has no previous segment not captured (it has %v)", what, name, x, lost[c.Stream])
					}
				}
				if len(holes) == 0 && slices.Contains(withHoles, file) {
					t.Errorf("%s, %s ladder: no gap or loss row", what, name)
				}
				for _, x := range retrans[c.Stream] {
					if !slices.Contains(resent, x) {
						t.Errorf("%s, %s ladder: tshark's retransmission in frame %d is not listed (retransmissions at %v)", what, name, x, resent)
					}
				}
			}
		}
	}
}

// TestLadderRetransmissionsCounted: the ladders list as many
// retransmissions as the verdict counts, one by one or in a run.
func TestLadderRetransmissionsCounted(t *testing.T) {
	count := regexp.MustCompile(`retransmission ×(\d+)`)
	for _, file := range []string{"netlab/mtu-blackhole.server.pcap", "client-hello-lost-long-wait.pcap", "client-hello-lost-client-side.pcap"} {
		for _, c := range connections(t, filepath.Join(testdata, file)) {
			f := c.Result().TCP
			want := f.Side[decoder.Client].Retransmissions + f.Side[decoder.Server].Retransmissions
			for name, rows := range threeLadders(c) {
				n := 0
				for _, r := range rows {
					if m := count.FindStringSubmatch(r.text); m != nil {
						k, _ := strconv.Atoi(m[1])
						n += k
					} else if strings.Contains(r.text, "TCP retransmission") {
						n++
					}
				}
				if n != want || want == 0 {
					t.Errorf("%s, %s ladder: %d retransmissions listed, the connection has %d", file, name, n, want)
				}
			}
		}
	}
	// Eight retransmissions: the last two are one run.
	c := connections(t, filepath.Join(testdata, "client-hello-lost-long-wait.pcap"))[0]
	if l := Ladder(c); !slices.ContainsFunc(l, func(s string) bool {
		return strings.HasPrefix(s, "#11 ") && strings.Contains(s, "TCP retransmission ×2 (frames 11–12, the last at +56120.1 ms)")
	}) {
		t.Errorf("client-hello-lost-long-wait.pcap: no run of the last two retransmissions in\n%s", strings.Join(l, "\n"))
	}
}

// TestLadderRetransmittingNotSilent: the HTML ladder draws the stretches
// in which a side retransmits as retransmission, not as silence; a real
// silence stays one.
func TestLadderRetransmittingNotSilent(t *testing.T) {
	l := buildLadder(connections(t, filepath.Join(testdata, "netlab/mtu-blackhole.server.pcap"))[0])
	retrans := 0
	for _, b := range l.Bands {
		switch b.Class {
		case "silence":
			t.Errorf("mtu-blackhole.server: a silence band %q, though the server retransmitted until the end", b.Label)
		case "retrans":
			retrans++
			if !strings.HasPrefix(b.Label, "server retransmitting") {
				t.Errorf("mtu-blackhole.server: band %q, want it to say the server retransmits", b.Label)
			}
		}
	}
	if retrans == 0 {
		t.Errorf("mtu-blackhole.server: no retransmission band among %+v", l.Bands)
	}
	l = buildLadder(connections(t, filepath.Join(testdata, "netlab/python-gives-up.server.pcap"))[0])
	if !slices.ContainsFunc(l.Bands, func(b ladderBand) bool { return b.Class == "silence" }) {
		t.Errorf("python-gives-up.server: no silence band among %+v", l.Bands)
	}
}

// TestLadderMessageCutByGap: the Certificate a capture gap cuts is still
// listed, at the frame of its captured bytes (tshark's frame 5, which
// holds the ServerHello and its start), and the messages after the gap
// are too.
func TestLadderMessageCutByGap(t *testing.T) {
	c := connections(t, filepath.Join(testdata, "capture-gap-certificate.pcap"))[0]
	var order []string
	for _, m := range c.Messages {
		if m.From == "server" && m.TMS < 50 {
			order = append(order, m.Type+"#"+strconv.FormatInt(m.Frame, 10))
			if m.Type == "Certificate" && (!strings.Contains(m.Note, "cut by a capture gap") || m.Undelivered) {
				t.Errorf("the cut Certificate says %q (undelivered %v), want it cut by a capture gap and delivered", m.Note, m.Undelivered)
			}
		}
	}
	want := []string{"ServerHello#5", "Certificate#5", "ServerKeyExchange#7", "ServerHelloDone#7"}
	if !slices.Equal(order, want) {
		t.Errorf("the server's first flight is %v, want %v", order, want)
	}
	if !strings.Contains(c.Verdict, "complete") {
		t.Errorf("verdict %q, want complete", c.Verdict)
	}
}
