package main

import (
	"fmt"
	"os"
	"strings"
)

// failedFile is the --write-failed capture. It is opened at the start,
// so that a path that cannot be written is said at once, but emptied and
// written only when the first connection that failed comes: when none
// did, no file is left (one that was there is left as it was), since a
// pcapng file of no bytes is not a capture.
//
// Wireshark numbers the TCP streams of the file it opens anew, from 0, in
// the order their first packets come; the packets of each connection are
// written together, so the n-th connection written is stream n there.
type failedFile struct {
	f        *os.File
	existed  bool // the file was there before: never removed
	started  bool // emptied for the first write
	conns    int  // connections written: the next one's stream there
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
		if rerr := os.Remove(ff.f.Name()); err == nil {
			err = rerr
		}
	}
	return err
}

// add counts a connection written and returns its stream in the file.
func (ff *failedFile) add(stream int) *int {
	n := ff.conns
	ff.conns++
	if len(ff.mappings) < mappingsShown {
		ff.mappings = append(ff.mappings, fmt.Sprintf("stream %d here is stream %d there", stream, n))
	} else if len(ff.mappings) == mappingsShown {
		ff.mappings = append(ff.mappings, "…")
	}
	return &n
}

// note says, for the table's closing lines, what the file holds and how
// its streams map to the report's.
func (ff *failedFile) note() []string {
	if ff.f == nil || ff.conns == 0 {
		return nil
	}
	noun := "connections"
	if ff.conns == 1 {
		noun = "connection"
	}
	return []string{fmt.Sprintf("%s: the packets of the %d %s that did not complete; Wireshark numbers its streams from 0: %s",
		ff.f.Name(), ff.conns, noun, strings.Join(ff.mappings, ", "))}
}
