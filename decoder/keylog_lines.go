package decoder

import (
	"encoding/hex"
	"sort"
)

// LinesFor is the key log of one client random, as NSS key log lines, or
// nil: what --write-failed embeds for the connections it writes, so that
// a file carries the secrets of its own connections and no others. The
// only place key material leaves the program.
func (k *KeyLog) LinesFor(clientRandom []byte) []byte {
	if len(clientRandom) != 32 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.entries[[32]byte(clientRandom)]
	if e == nil {
		return nil
	}
	labels := make([]string, 0, len(keyLogLabels))
	for l := range keyLogLabels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	random := hex.EncodeToString(clientRandom)
	var out []byte
	for _, l := range labels {
		s := *keyLogLabels[l].slot(&e.s)
		if s == nil {
			continue
		}
		out = append(out, l...)
		out = append(out, ' ')
		out = append(out, random...)
		out = append(out, ' ')
		out = hex.AppendEncode(out, s)
		out = append(out, '\n')
	}
	return out
}
