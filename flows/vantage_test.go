package flows

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// netlabPair is a netlab scenario's two captures: at the client's veth and
// at the server's, a router between them (testdata/netlab/MANIFEST.md).
func netlabPair(scenario string) (client, server string) {
	dir := filepath.Join(testdata, "netlab")
	return filepath.Join(dir, scenario+".client.pcap"), filepath.Join(dir, scenario+".server.pcap")
}

// one is the only result of an analysis.
func one(t *testing.T, files ...string) *Result {
	t.Helper()
	rs, _ := analyze(t, files...)
	if len(rs) != 1 {
		t.Fatalf("%v: %d results, want 1", files, len(rs))
	}
	return rs[0]
}

// TestVantageCleanPair: a handshake captured at both ends of the router,
// the two captures given together, is the same connection as each capture
// alone: no packet counted twice, no retransmission, the same verdict.
func TestVantageCleanPair(t *testing.T) {
	for _, scenario := range []string{"openssl-tls13", "python-tls13", "curl-gnutls", "openssl-keyupdate"} {
		client, server := netlabPair(scenario)
		alone := one(t, client)
		serverAlone := one(t, server)
		for i, files := range [][]string{{client, server}, {server, client}} {
			r := one(t, files...)
			name := scenario + " " + strings.Join([]string{filepath.Base(files[0]), filepath.Base(files[1])}, "+")
			if r.Outcome != alone.Outcome || r.Outcome != serverAlone.Outcome {
				t.Errorf("%s: %s, alone %s (client's) and %s (server's)", name, r.Outcome, alone.Outcome, serverAlone.Outcome)
			}
			f := r.TCP
			for s := range 2 {
				// Nothing is lost between the points: each capture holds every packet.
				if got, want := f.Side[s].Packets, alone.TCP.Side[s].Packets; got != want {
					t.Errorf("%s: side %d: %d packets, the client's capture alone %d", name, s, got, want)
				}
				if f.Side[s].Retransmissions != 0 || f.Side[s].Bytes != alone.TCP.Side[s].Bytes {
					t.Errorf("%s: side %d: %d retransmissions, %d bytes; want 0 and %d", name, s, f.Side[s].Retransmissions, f.Side[s].Bytes, alone.TCP.Side[s].Bytes)
				}
			}
			if f.ClientHelloRetransmitted != 0 || f.ServerFlightRetransmitted != 0 {
				t.Errorf("%s: ClientHello retransmitted %d, server flight %d", name, f.ClientHelloRetransmitted, f.ServerFlightRetransmitted)
			}
			v := f.Vantage
			if v == nil {
				t.Errorf("%s: no vantage facts", name)
				continue
			}
			// The client's capture is input i (0 given first, then 1).
			clientIn := i
			if v.Near != [2]int{clientIn, 1 - clientIn} || v.Far != [2]int{1 - clientIn, clientIn} {
				t.Errorf("%s: near %v, far %v; the client's capture is input %d", name, v.Near, v.Far, clientIn)
			}
			if v.Copies == 0 || v.Lost[0].Packets != 0 || v.Lost[1].Packets != 0 {
				t.Errorf("%s: %d copies, lost %+v", name, v.Copies, v.Lost)
			}
		}
	}
}

// TestVantageLoss: segments the router dropped passed the sender's capture
// point and never reached the other one, which was capturing; the frames
// named are checked against tshark's reading of each capture.
func TestVantageLoss(t *testing.T) {
	cases := []struct {
		scenario string
		from     decoder.Side
		frames   []int64 // at the sender's capture
		// a later packet of the sender's, at its capture and at the other
		laterNear, laterFar int64
	}{
		// The router's link toward the client has MTU 1000 and drops its
		// ICMP: the server's 1448- and 1200-byte segments (and their
		// retransmissions) never reach the client; the 930-byte one and
		// the last ACK do. The retransmission at 3.151 s comes after the
		// client's capture ends (3.047 s): not judged.
		{"mtu-blackhole", decoder.Server, []int64{8, 9, 10, 11, 14, 15, 16, 17}, 19, 11},
		// The router drops the client's 524-byte first ClientHello segment;
		// the tail passes. Its retransmissions come after the server's
		// capture ends: not judged.
		{"drop-client-hello-first-segment", decoder.Client, []int64{6}, 7, 6},
	}
	for _, tc := range cases {
		client, server := netlabPair(tc.scenario)
		near, far := client, server
		if tc.from == decoder.Server {
			near, far = server, client
		}
		nearFrames, farFrames := tsharkIPIDs(t, near), tsharkIPIDs(t, far)
		for _, id := range tc.frames {
			if nearFrames[id] == "" || slices.Contains(slices.Collect(maps.Values(farFrames)), nearFrames[id]) {
				t.Fatalf("%s: tshark: frame %d of %s (IP ID %q) is in %s too", tc.scenario, id, filepath.Base(near), nearFrames[id], filepath.Base(far))
			}
		}
		if nearFrames[tc.laterNear] == "" || nearFrames[tc.laterNear] != farFrames[tc.laterFar] {
			t.Fatalf("%s: tshark: frame %d of %s and %d of %s are not the same packet", tc.scenario, tc.laterNear, filepath.Base(near), tc.laterFar, filepath.Base(far))
		}
		nearAlone := one(t, near)
		for i, files := range [][]string{{client, server}, {server, client}} {
			r := one(t, files...)
			name := tc.scenario + " " + filepath.Base(files[0]) + "+" + filepath.Base(files[1])
			v := r.TCP.Vantage
			if v == nil {
				t.Fatalf("%s: no vantage facts", name)
			}
			nearIn := i // the client's capture is input i
			if tc.from == decoder.Server {
				nearIn = 1 - i
			}
			l := v.Lost[tc.from]
			if v.Near[tc.from] != nearIn || v.Far[tc.from] != 1-nearIn {
				t.Errorf("%s: the %s's near input %d, far %d; want %d, %d", name, tc.from, v.Near[tc.from], v.Far[tc.from], nearIn, 1-nearIn)
			}
			if l.Packets != len(tc.frames) || !slices.Equal(l.Frames, tc.frames) || l.LaterNear != tc.laterNear || l.LaterFar != tc.laterFar {
				t.Errorf("%s: lost %d packets, frames %v, later %d/%d; want %d, %v, %d/%d", name, l.Packets, l.Frames, l.LaterNear, l.LaterFar,
					len(tc.frames), tc.frames, tc.laterNear, tc.laterFar)
			}
			if o := v.Lost[tc.from.Other()]; o.Packets != 0 {
				t.Errorf("%s: the %s lost %d packets, want none", name, tc.from.Other(), o.Packets)
			}
			// The merged captures hold what the sender's capture holds,
			// each packet once: the same verdict and retransmissions.
			if r.Outcome != nearAlone.Outcome {
				t.Errorf("%s: %s, the %s's capture alone %s", name, r.Outcome, tc.from, nearAlone.Outcome)
			}
			for s := range 2 {
				if got, want := r.TCP.Side[s].Retransmissions, nearAlone.TCP.Side[s].Retransmissions; got != want {
					t.Errorf("%s: side %d: %d retransmissions, the %s's capture alone %d", name, s, got, tc.from, want)
				}
			}
		}
	}
}

// TestVantageOneInput: a single capture has no vantage facts.
func TestVantageOneInput(t *testing.T) {
	client, _ := netlabPair("mtu-blackhole")
	if v := one(t, client).TCP.Vantage; v != nil {
		t.Errorf("one input: vantage facts %+v", v)
	}
}

// tsharkIPIDs are tshark's IPv4 identifications of a capture's TCP packets, by frame.
func tsharkIPIDs(t *testing.T, file string) map[int64]string {
	t.Helper()
	args := append(testenv.TSharkArgs(file), "-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "ip.id")
	out, err := testenv.TSharkOutput(t, file, args...)
	if err != nil {
		t.Fatalf("tshark %s: %v", filepath.Base(file), err)
	}
	ids := map[int64]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		n, err := strconv.ParseInt(f[0], 10, 64)
		if len(f) != 2 || err != nil {
			t.Fatalf("tshark %s: %q", filepath.Base(file), line)
		}
		ids[n] = f[1]
	}
	return ids
}
