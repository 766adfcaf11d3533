package decoder

// The NSS key log format ("SSLKEYLOGFILE"), as described by
// https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/
// and draft-ietf-tls-keylogfile: one entry per line,
//
//	LABEL <client random, 64 hex digits> <secret in hex>
//
// with "#" comment lines and blank lines. The same text is the payload of
// a pcapng Decryption Secrets Block, so one parser serves --keylog files,
// DSBs and, in live mode, a file the client keeps appending to.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

const (
	// maxKeyLogLine bounds one line (not counting its "\n" or "\r\n"): the
	// longest real entry is under 200 bytes, and the bound is what keeps a
	// file of garbage without newlines from growing our buffer.
	maxKeyLogLine = 4096
	// maxKeyLogEntries bounds the client randoms a KeyLog keeps, so a key
	// log cannot take unbounded memory: an entry costs about half a
	// kilobyte, so the cap is about 500 MB. Lines for further client
	// randoms are dropped, and each Add or Poll that dropped some says so
	// in one BadLine with Line 0.
	maxKeyLogEntries = 1_000_000
	// maxBadLines bounds the BadLines one Add or Poll lists; the rest are
	// summed up in one BadLine with Line 0.
	maxBadLines = 100
)

// KeyLog holds the secrets of NSS key log lines by client random. It is
// safe for concurrent use: Lookup may be called from the analysis
// goroutine while a live poller adds lines.
type KeyLog struct {
	mu      sync.Mutex
	entries map[[32]byte]*keyLogEntry
	// max is maxKeyLogEntries; a field so tests can reach it.
	max int
	// unsupported counts well-formed lines whose label we do not use.
	unsupported int
}

type keyLogEntry struct {
	s    Secrets
	used bool
}

// NewKeyLog returns an empty KeyLog.
func NewKeyLog() *KeyLog {
	return &KeyLog{entries: make(map[[32]byte]*keyLogEntry), max: maxKeyLogEntries}
}

// Secrets are one client random's secrets (nil slices when absent). They
// decrypt the connection: never print or log them.
type Secrets struct {
	MasterSecret                     []byte // CLIENT_RANDOM (48 bytes, TLS 1.2 and earlier)
	ClientEarly                      []byte // CLIENT_EARLY_TRAFFIC_SECRET
	ClientHandshake, ServerHandshake []byte // CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET
	ClientTraffic0, ServerTraffic0   []byte // CLIENT_/SERVER_TRAFFIC_SECRET_0
	Exporter, EarlyExporter          []byte // EXPORTER_SECRET, EARLY_EXPORTER_SECRET (parsed, not needed)
}

// BadLine is a malformed line of a key log. Why says what is wrong without
// quoting the line, whose hex may be a secret. Line 0 is about the whole
// read: entries dropped beyond the cap, or malformed lines not listed.
type BadLine struct {
	Source string
	Line   int
	Why    string
}

func (b BadLine) String() string {
	if b.Line == 0 {
		return b.Source + ": " + b.Why
	}
	return b.Source + ":" + strconv.Itoa(b.Line) + ": " + b.Why
}

// keyLogLabels are the labels we keep, with where their secret goes and
// the secret lengths they allow: the master secret is always 48 bytes,
// TLS 1.3 secrets are as long as the suite's hash (SHA-256 or SHA-384).
var keyLogLabels = map[string]struct {
	slot func(*Secrets) *[]byte
	tls1 bool // 48 bytes only, else 32 or 48
}{
	"CLIENT_RANDOM":                   {func(s *Secrets) *[]byte { return &s.MasterSecret }, true},
	"CLIENT_EARLY_TRAFFIC_SECRET":     {func(s *Secrets) *[]byte { return &s.ClientEarly }, false},
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET": {func(s *Secrets) *[]byte { return &s.ClientHandshake }, false},
	"SERVER_HANDSHAKE_TRAFFIC_SECRET": {func(s *Secrets) *[]byte { return &s.ServerHandshake }, false},
	"CLIENT_TRAFFIC_SECRET_0":         {func(s *Secrets) *[]byte { return &s.ClientTraffic0 }, false},
	"SERVER_TRAFFIC_SECRET_0":         {func(s *Secrets) *[]byte { return &s.ServerTraffic0 }, false},
	"EXPORTER_SECRET":                 {func(s *Secrets) *[]byte { return &s.Exporter }, false},
	"EARLY_EXPORTER_SECRET":           {func(s *Secrets) *[]byte { return &s.EarlyExporter }, false},
}

// keyLogRead is what one Add or Poll found.
type keyLogRead struct {
	source  string
	lines   int
	bad     []BadLine
	unseen  int // malformed lines beyond maxBadLines
	dropped int // lines dropped beyond maxKeyLogEntries
}

func (r *keyLogRead) malformed(line int, why string) {
	if len(r.bad) >= maxBadLines {
		r.unseen++
		return
	}
	r.bad = append(r.bad, BadLine{r.source, line, why})
}

// result closes the read: the Line 0 summaries come last.
func (r *keyLogRead) result() (int, []BadLine) {
	if r.unseen > 0 {
		r.bad = append(r.bad, BadLine{r.source, 0, strconv.Itoa(r.unseen) + " more malformed lines not listed"})
	}
	if r.dropped > 0 {
		r.bad = append(r.bad, BadLine{r.source, 0, fmt.Sprintf("%d lines dropped: the key log holds %d client randoms, the most kept", r.dropped, maxKeyLogEntries)})
	}
	return r.lines, r.bad
}

// Add reads key log text (a file, a pcapng DSB payload) to its end and
// returns how many entry lines it held (blank and comment lines are not
// counted; malformed and unsupported ones are) and the malformed ones. A
// last line without newline is read too. err is only a read error of r.
func (k *KeyLog) Add(source string, r io.Reader) (lines int, bad []BadLine, err error) {
	res := &keyLogRead{source: source}
	var sp keyLogSplitter
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		sp.feed(buf[:n], func(no int, line []byte, tooLong bool) { k.addLine(res, no, line, tooLong) })
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = fmt.Errorf("key log %s: %w", source, rerr)
			break
		}
	}
	if err == nil {
		sp.finish(func(no int, line []byte, tooLong bool) { k.addLine(res, no, line, tooLong) })
	}
	lines, bad = res.result()
	return lines, bad, err
}

// Lookup returns the secrets for a client random, or nil, and marks the
// entry as used (see Unused). The Secrets are a copy: lines added later
// do not change them under the caller.
func (k *KeyLog) Lookup(clientRandom []byte) *Secrets {
	if len(clientRandom) != 32 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.entries[[32]byte(clientRandom)]
	if e == nil {
		return nil
	}
	e.used = true
	s := e.s // the slices are replaced, never written in place: sharing them is safe
	return &s
}

// Len is the number of client randoms with secrets.
func (k *KeyLog) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.entries)
}

// Unused is how many client randoms were never looked up: connections of
// the key log that this capture did not show ("3 entries not seen").
func (k *KeyLog) Unused() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, e := range k.entries {
		if !e.used {
			n++
		}
	}
	return n
}

// Unsupported is how many well-formed lines had a label we do not use
// (RSA, or one we do not know), so that "N lines not used" can be said.
func (k *KeyLog) Unsupported() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.unsupported
}

// addLine parses one line (without its line end) and keeps its secret.
func (k *KeyLog) addLine(res *keyLogRead, no int, line []byte, tooLong bool) {
	if tooLong {
		res.lines++
		res.malformed(no, "line is longer than "+strconv.Itoa(maxKeyLogLine)+" bytes")
		return
	}
	if no == 1 && len(line) >= 3 && line[0] == 0xef && line[1] == 0xbb && line[2] == 0xbf {
		line = line[3:] // a UTF-8 byte order mark, left by some editors
	}
	line = trimKeyLogSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return
	}
	res.lines++
	label, random, secret, unsupported, why := parseKeyLogLine(line)
	if why != "" {
		res.malformed(no, why)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if unsupported {
		k.unsupported++
		return
	}
	e := k.entries[random]
	if e == nil {
		if len(k.entries) >= k.max {
			res.dropped++
			return
		}
		e = &keyLogEntry{}
		k.entries[random] = e
	}
	*keyLogLabels[label].slot(&e.s) = secret // a later line replaces an earlier one
}

// parseKeyLogLine parses a trimmed, non-comment line. why, when not empty,
// says what is wrong; it never quotes the line.
func parseKeyLogLine(line []byte) (label string, random [32]byte, secret []byte, unsupported bool, why string) {
	var fields [3][]byte
	n := 0
	for i := 0; i < len(line); {
		for i < len(line) && isKeyLogSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isKeyLogSpace(line[j]) {
			j++
		}
		if j > i {
			if n < len(fields) {
				fields[n] = line[i:j]
			}
			n++
		}
		i = j
	}
	if !validKeyLogLabel(fields[0]) {
		return "", random, nil, false, "label is not made of A-Z, 0-9 and _"
	}
	if n != 3 {
		return "", random, nil, false, fmt.Sprintf("%d fields, want 3: label, client random and secret", n)
	}
	label = string(fields[0])
	if label == "RSA" {
		// RSA <first 8 bytes of the encrypted pre-master secret> <pre-master secret>:
		// keyed by something we do not track, so parsed and counted, not kept.
		if why := checkKeyLogHex(fields[1], "encrypted pre-master prefix", 8, 8); why != "" {
			return "", random, nil, false, why
		}
		if why := checkKeyLogHex(fields[2], "pre-master secret", 48, 48); why != "" {
			return "", random, nil, false, why
		}
		return label, random, nil, true, ""
	}
	kind, known := keyLogLabels[label]
	if !known {
		// A label of a later draft (ECH_SECRET, ...): not malformed if the
		// rest is hex, whatever its length, which we cannot know.
		if why := checkKeyLogHex(fields[1], "client random", 0, 0); why != "" {
			return "", random, nil, false, why
		}
		if why := checkKeyLogHex(fields[2], "secret", 0, 0); why != "" {
			return "", random, nil, false, why
		}
		return label, random, nil, true, ""
	}
	if why := checkKeyLogHex(fields[1], "client random", 32, 32); why != "" {
		return "", random, nil, false, why
	}
	minLen, maxLen := 32, 48
	if kind.tls1 {
		minLen = 48
	}
	if why := checkKeyLogHex(fields[2], "secret", minLen, maxLen); why != "" {
		return "", random, nil, false, why
	}
	decodeKeyLogHex(random[:], fields[1])
	secret = make([]byte, len(fields[2])/2)
	decodeKeyLogHex(secret, fields[2])
	return label, random, secret, false, ""
}

// checkKeyLogHex checks that field is hex of min or max bytes (any length
// when max is 0; the lengths we allow are always one of the two).
func checkKeyLogHex(field []byte, what string, min, max int) string {
	for _, c := range field {
		if hexNibble(c) < 0 {
			return what + " is not hex"
		}
	}
	if len(field)%2 != 0 {
		return what + " has an odd number of hex digits"
	}
	n := len(field) / 2
	switch {
	case max == 0 || n == min || n == max:
		return ""
	case min == max:
		return fmt.Sprintf("%s is %d bytes, want %d", what, n, min)
	default:
		return fmt.Sprintf("%s is %d bytes, want %d or %d", what, n, min, max)
	}
}

func decodeKeyLogHex(dst, src []byte) {
	for i := range dst {
		dst[i] = byte(hexNibble(src[2*i])<<4 | hexNibble(src[2*i+1]))
	}
}

func hexNibble(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func validKeyLogLabel(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isKeyLogSpace: the separators and the padding we tolerate around a line.
// NUL is among them for DSB payloads padded or terminated with it.
func isKeyLogSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == 0 }

func trimKeyLogSpace(b []byte) []byte {
	for len(b) > 0 && isKeyLogSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isKeyLogSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// keyLogSplitter cuts a byte stream fed in pieces into lines, holding at
// most one partial line of maxKeyLogLine bytes (plus a "\r") between
// pieces: a longer line is reported too long once and skipped to its end.
type keyLogSplitter struct {
	no      int    // lines begun
	partial []byte // the line begun, not yet ended
	tooLong bool   // the line begun is too long: skipping to its end
	begun   bool   // a line is begun (partial may still be empty)
}

// feed cuts data into lines and hands each complete one to emit, with its
// number from 1 and without its "\n" (a "\r" before it is left to trim).
func (s *keyLogSplitter) feed(data []byte, emit func(no int, line []byte, tooLong bool)) {
	for len(data) > 0 {
		if !s.begun {
			s.begun = true
			s.no++
		}
		end := -1
		for i, c := range data {
			if c == '\n' {
				end = i
				break
			}
		}
		piece := data
		if end >= 0 {
			piece = data[:end]
			data = data[end+1:]
		} else {
			data = nil
		}
		if !s.tooLong {
			if len(s.partial)+len(piece) > maxKeyLogLine+1 {
				s.tooLong = true
				s.partial = s.partial[:0]
			} else if end >= 0 && len(s.partial) == 0 {
				// The whole line is in data: no copy.
				s.emitLine(piece, emit)
				continue
			} else {
				if s.partial == nil {
					// Once, at its bound: appends never grow it.
					s.partial = make([]byte, 0, maxKeyLogLine+1)
				}
				s.partial = append(s.partial, piece...)
			}
		}
		if end >= 0 {
			s.emitLine(s.partial, emit)
		}
	}
}

func (s *keyLogSplitter) emitLine(line []byte, emit func(no int, line []byte, tooLong bool)) {
	tooLong := s.tooLong
	if !tooLong && len(line) > maxKeyLogLine && !(len(line) == maxKeyLogLine+1 && line[maxKeyLogLine] == '\r') {
		tooLong = true
	}
	emit(s.no, line, tooLong)
	s.partial = s.partial[:0]
	s.tooLong = false
	s.begun = false
}

// finish hands over a last line that has no newline: the end of the text.
func (s *keyLogSplitter) finish(emit func(no int, line []byte, tooLong bool)) {
	if s.begun {
		s.emitLine(s.partial, emit)
	}
}

// KeyLogFile follows a key log file that grows while we capture (the
// client writes it). Poll reads what was appended since the last call,
// keeping a partial last line for the next; a truncated or replaced file
// (smaller than our offset, or a different inode) is read again from the
// start, its entries replacing the ones read before.
//
// A last line without newline is taken as a line once a Poll finds the
// file unchanged and the line well formed (writers write a line in one
// write, so one unfinished for a whole poll interval is the end of a file
// edited by hand); should the line go on after all, it is read again whole
// and replaces what was taken.
type KeyLogFile struct {
	path   string
	into   *KeyLog
	info   os.FileInfo // the file read last, to notice it replaced
	offset int64       // bytes read from it
	sp     keyLogSplitter
	// taken: the partial line was taken as a line; not counted again
	// when it ends.
	taken bool
	// What OpenKeyLogFile read, for the first Poll to return.
	firstLines int
	firstBad   []BadLine
}

// OpenKeyLogFile reads the key log file at path into into once, keeping a
// partial last line for Poll. What that first read found (its lines and
// malformed lines) is returned by the first Poll, added to its own, so
// that the caller reports every read the same way.
func OpenKeyLogFile(path string, into *KeyLog) (*KeyLogFile, error) {
	f := &KeyLogFile{path: path, into: into}
	lines, bad, err := f.poll()
	if err != nil {
		return nil, err
	}
	f.firstLines, f.firstBad = lines, bad
	return f, nil
}

// Poll reads what was appended to the file since the last call and
// returns how many entry lines that was and the malformed ones. err is
// an error opening or reading the file (gone, say); the next Poll tries
// again. Poll is for one goroutine; the KeyLog it fills is for any.
func (f *KeyLogFile) Poll() (lines int, bad []BadLine, err error) {
	lines, bad, err = f.poll()
	if f.firstLines > 0 || f.firstBad != nil {
		lines += f.firstLines
		bad = append(f.firstBad, bad...)
		f.firstLines, f.firstBad = 0, nil
	}
	return lines, bad, err
}

func (f *KeyLogFile) poll() (lines int, bad []BadLine, err error) {
	file, err := os.Open(f.path)
	if err != nil {
		return 0, nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return 0, nil, err
	}
	if f.info != nil && (!os.SameFile(f.info, info) || info.Size() < f.offset) {
		f.offset, f.sp, f.taken = 0, keyLogSplitter{}, false
	}
	f.info = info
	if _, err := file.Seek(f.offset, io.SeekStart); err != nil {
		return 0, nil, err
	}
	res := &keyLogRead{source: f.path}
	emit := func(no int, line []byte, tooLong bool) {
		if f.taken {
			// The line taken at the last Poll went on: read it whole again,
			// replacing what was taken, without counting it twice.
			f.taken = false
			before := res.lines
			f.into.addLine(res, no, line, tooLong)
			res.lines = before
			return
		}
		f.into.addLine(res, no, line, tooLong)
	}
	buf := make([]byte, 32<<10)
	grew := false
	for {
		n, rerr := file.Read(buf)
		if n > 0 {
			grew = true
			f.offset += int64(n)
			f.sp.feed(buf[:n], emit)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			err = fmt.Errorf("key log %s: %w", f.path, rerr)
			break
		}
	}
	if !grew && err == nil && f.sp.begun && !f.taken && !f.sp.tooLong {
		line := trimKeyLogSpace(f.sp.partial)
		if len(line) > 0 && line[0] != '#' {
			if _, _, _, _, why := parseKeyLogLine(line); why == "" {
				f.into.addLine(res, f.sp.no, f.sp.partial, false)
				f.taken = true
			}
		}
	}
	lines, bad = res.result()
	return lines, bad, err
}

// String says which secrets there are and how long, never what they are,
// so that a Secrets printed by mistake (%v, %s, %x) leaks nothing.
func (s Secrets) String() string {
	out := "Secrets{"
	for i, f := range []struct {
		name string
		b    []byte
	}{{"master", s.MasterSecret}, {"client early", s.ClientEarly}, {"client handshake", s.ClientHandshake},
		{"server handshake", s.ServerHandshake}, {"client traffic", s.ClientTraffic0}, {"server traffic", s.ServerTraffic0},
		{"exporter", s.Exporter}, {"early exporter", s.EarlyExporter}} {
		if i > 0 {
			out += ", "
		}
		out += f.name + " " + strconv.Itoa(len(f.b)) + " bytes"
	}
	return out + "}"
}

// GoString is String, for %#v.
func (s Secrets) GoString() string { return s.String() }
