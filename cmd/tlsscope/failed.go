package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/report"
)

// failedFile is the --write-failed capture. It is opened at the start,
// so that a path that cannot be written is said at once, but emptied and
// written only when the first connection that did not complete comes:
// when none did, no file is left (one that was there is left as it was),
// since a pcapng file of no bytes is not a capture.
//
// Wireshark numbers the streams of the file it opens anew, from 0, in the
// order their first packets come, tcp.stream and udp.stream apart; the
// packets of each connection are written together, so the n-th TCP
// connection written is tcp.stream n there, and a QUIC connection's UDP
// conversations take the next udp.stream numbers not yet taken (a
// conversation two connections shared keeps its one number).
type failedFile struct {
	f       *os.File
	existed bool // the file was there before: never removed
	started bool // emptied for the first write
	conns   int  // connections written
	// leftEmpty: the file made for the run could not be removed (the
	// live capture went on as --user, who may not write its directory).
	leftEmpty bool
	unkept    int // connections that did not complete with no packet kept
	tcp       int // TCP connections written: the next one's tcp.stream there
	// udp maps the udp.stream numbers of the conversations written to
	// theirs in the file.
	udp      map[int]int
	mappings []string
}

// mappingsShown bounds the "stream 12 here is stream 0 there" of the
// table's closing lines; Markdown says it in each connection's section.
const mappingsShown = 10

func (ff *failedFile) open(name string) error {
	_, err := os.Lstat(name)
	ff.existed = err == nil
	// Not truncated: emptied only on the first write.
	ff.f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o666)
	return err
}

func (ff *failedFile) Write(p []byte) (int, error) {
	if !ff.started {
		ff.started = true
		if st, err := ff.f.Stat(); err == nil && st.Mode().IsRegular() {
			if err := ff.f.Truncate(0); err != nil {
				return 0, err
			}
		}
	}
	return ff.f.Write(p)
}

// Close closes the file, and removes it when it was made for this run and
// nothing was written to it.
func (ff *failedFile) Close() error {
	if ff.f == nil {
		return nil
	}
	err := ff.f.Close()
	if !ff.started && !ff.existed {
		rerr := os.Remove(ff.f.Name())
		if errors.Is(rerr, fs.ErrPermission) {
			ff.leftEmpty, rerr = true, nil
		}
		if err == nil {
			err = rerr
		}
	}
	return err
}

// add counts a connection written, r, and returns its stream in the
// file.
func (ff *failedFile) add(r *flows.Result) *flows.StreamID {
	ff.conns++
	there := flows.NewStreamID(r.Transport, ff.tcp)
	if r.Transport.OverUDP() {
		if ff.udp == nil {
			ff.udp = map[int]int{}
		}
		// Its conversations in the order of their first datagrams, the
		// first its own stream.
		convs := []int{r.Stream}
		if r.QUIC != nil {
			convs = append(convs, r.QUIC.UDPStreams...)
		}
		for _, s := range convs {
			if _, ok := ff.udp[s]; !ok {
				ff.udp[s] = len(ff.udp)
			}
		}
		there.N = ff.udp[r.Stream]
	} else {
		ff.tcp++
	}
	if len(ff.mappings) < mappingsShown {
		ff.mappings = append(ff.mappings, r.ID().Name()+" here is "+there.Name()+" there")
	} else if len(ff.mappings) == mappingsShown {
		ff.mappings = append(ff.mappings, "…")
	}
	return &there
}

// attachment is what the file holds, for the report.
func (ff *failedFile) attachment() report.Attachment {
	name := ""
	if ff.f != nil {
		name = ff.f.Name()
	}
	return report.Attachment{Name: name, Conns: ff.conns, Unkept: ff.unkept}
}

// note says, for the table's closing lines, what the file holds and how
// its streams map to the report's.
func (ff *failedFile) note() []string {
	if ff.f == nil || ff.conns == 0 {
		return nil
	}
	which := "the " + plural(ff.conns, "connection")
	if ff.unkept > 0 {
		which = fmt.Sprintf("%d of the %s", ff.conns, plural(ff.conns+ff.unkept, "connection"))
	}
	return []string{fmt.Sprintf("%s: the packets of %s that did not complete; Wireshark numbers its streams from 0, TCP and UDP apart: %s",
		ff.f.Name(), which, strings.Join(ff.mappings, ", "))}
}
