package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// keyLogs are the --keylog files of a run: read once at the start, and
// live re-read as they grow (the client writes them while we capture).
type keyLogs struct {
	log   *decoder.KeyLog
	files []*decoder.KeyLogFile
	names []string
	lines int
	bad   []decoder.BadLine
	stop  chan struct{}
	wg    sync.WaitGroup
	// ClientHellos seen, and those whose keys were found (from take).
	mu            sync.Mutex
	hellos, found int
	statusCounts  map[decoder.DecryptStatus]int
}

// openKeyLogs reads the --keylog files; an unreadable one is an error.
func openKeyLogs(paths []string) (*keyLogs, error) {
	k := &keyLogs{log: decoder.NewKeyLog(), statusCounts: map[decoder.DecryptStatus]int{}}
	for _, p := range paths {
		f, err := decoder.OpenKeyLogFile(p, k.log)
		if err != nil {
			return nil, fmt.Errorf("tlsscope: --keylog %s: %v", p, err)
		}
		k.files, k.names = append(k.files, f), append(k.names, p)
	}
	k.poll() // what the first reads found
	return k, nil
}

// follow re-reads the files once a second until stopped (live capture).
func (k *keyLogs) follow() {
	k.stop = make(chan struct{})
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-k.stop:
				return
			case <-t.C:
				k.poll()
			}
		}
	}()
}

func (k *keyLogs) poll() {
	for _, f := range k.files {
		n, bad, _ := f.Poll()
		k.mu.Lock()
		k.lines += n
		k.bad = append(k.bad, bad...)
		k.mu.Unlock()
	}
}

func (k *keyLogs) close() {
	if k.stop != nil {
		close(k.stop)
		k.wg.Wait()
	}
}

// count notes what the keys did for one result.
func (k *keyLogs) count(r *flows.Result) {
	if r.HS == nil || r.HS.ClientHello == nil || r.Update || r.HS.Decryption == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	st := r.HS.Decryption.Status
	k.hellos++
	k.statusCounts[st]++
	if st != decoder.DecryptNoKeys && st != decoder.DecryptNoClientHello {
		k.found++
	}
}

// notes says, for stderr and the summary, what the key logs held and
// matched: "key log: 412 lines, 14 of 16 ClientHellos matched, 3 entries
// not seen in this capture", and the likely causes when none matched.
func (k *keyLogs) notes(a *flows.Analyzer) []string {
	log := a.KeyLog()
	if log == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	lines := k.lines + a.Stats.SecretLines
	var out []string
	line := fmt.Sprintf("key log: %d lines, %d of %d ClientHellos matched, %d entries not seen in this capture", lines, k.found, k.hellos, log.Unused())
	var st []string
	for s, n := range k.statusCounts {
		st = append(st, fmt.Sprintf("%d %s", n, s))
	}
	sort.Strings(st)
	if len(st) > 0 {
		line += " (" + strings.Join(st, ", ") + ")"
	}
	out = append(out, line)
	if k.found == 0 && k.hellos > 0 && log.Len() > 0 {
		out = append(out, "key log: no ClientHello of this capture is in it: it was written for another capture or another host, or on the other leg of a TLS proxy (whose client randoms differ)")
	}
	if n := k.statusCounts[decoder.DecryptWrongKeys]; n > 0 {
		out = append(out, fmt.Sprintf("key log: %d connections have a key whose secret does not open their records (wrong_keys): see their decryption.reason", n))
	}
	for _, b := range append(k.bad, a.Stats.SecretsBad...) {
		out = append(out, fmt.Sprintf("key log: %s line %d: %s", b.Source, b.Line, b.Why))
		if len(out) > 12 {
			out = append(out, "key log: more malformed lines not shown")
			break
		}
	}
	return out
}
