package decoder

import (
	"sync"
)

// LogKeys finds the record keys of connections in key logs, as Wireshark
// does: by the ClientHello's random; for a TLS 1.2 session resumed by its
// session ID, by the master secret of the earlier connection in the same
// run that established it.
type LogKeys struct {
	log      *KeyLog
	mu       sync.Mutex
	sessions map[string][]byte   // TLS 1.2 session ID → master secret
	tickets  map[[32]byte][]byte // SHA-256 of a TLS 1.2 session ticket → master secret
}

// maxSessions bounds the session IDs remembered for resumption.
const maxSessions = 65536

// extEncryptThenMAC is RFC 7366's extension.
const extEncryptThenMAC uint16 = 22

// NewLogKeys looks keys up in log.
func NewLogKeys(log *KeyLog) *LogKeys {
	return &LogKeys{log: log, sessions: map[string][]byte{}, tickets: map[[32]byte][]byte{}}
}

// Log is the key log the keys come from.
func (k *LogKeys) Log() *KeyLog { return k.log }

// Cipher implements Keys.
func (k *LogKeys) Cipher(from Side, e Epoch, hs *Handshake) (RecordCipher, error) {
	ch, sh := hs.LatestClientHello(), hs.ServerHello
	if ch == nil {
		return nil, errNoClientHello
	}
	s := k.log.Lookup(ch.Random)
	if v := hs.Version(); isTLS13(v) || sh == nil && e == EpochEarlyData {
		if s == nil {
			return nil, errNoKeys
		}
		var secret []byte
		switch {
		case e == EpochEarlyData && from == Client:
			secret = s.ClientEarly
		case e == EpochHandshake && from == Client:
			secret = s.ClientHandshake
		case e == EpochHandshake:
			secret = s.ServerHandshake
		case e == EpochApplication && from == Client:
			secret = s.ClientTraffic0
		case e == EpochApplication:
			secret = s.ServerTraffic0
		}
		if secret == nil {
			return nil, errNoKeys
		}
		suite := uint16(0)
		if sh != nil {
			suite = sh.CipherSuite
		} else if len(ch.CipherSuites) > 0 {
			suite = ch.CipherSuites[0] // 0-RTT: the resumed session's suite, usually the first offered
		}
		c, err := newCipher13(suite, secret)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	if sh == nil || e != EpochApplication {
		return nil, errNoKeys
	}
	master := k.master(hs, s)
	if master == nil {
		return nil, errNoKeys
	}
	etm := hasExtension(ch.Extensions, extEncryptThenMAC) && hasExtension(sh.Extensions, extEncryptThenMAC)
	// DTLS 1.0 and 1.2 derive their keys as TLS 1.1 and 1.2 do; the record
	// header's version and the epoch in the sequence number are the
	// caller's (RFC 6347 §4.1.2.1).
	return newCipher12(TLSEquivalent(hs.Version()), sh.CipherSuite, master, ch.Random, sh.Random, from == Client, etm)
}

// master is a TLS 1.2 connection's master secret: from the key log, or
// from the connection that established the session it resumes. A master
// secret found is remembered by the session ID the server gave.
func (k *LogKeys) master(hs *Handshake, s *Secrets) []byte {
	ch, sh := hs.LatestClientHello(), hs.ServerHello
	k.mu.Lock()
	defer k.mu.Unlock()
	var master []byte
	switch {
	case s != nil && s.MasterSecret != nil:
		master = s.MasterSecret
	case ch.SessionTicketLen > 0 && k.tickets[ch.SessionTicketHash] != nil:
		master = k.tickets[ch.SessionTicketHash]
	case len(sh.SessionID) > 0 && string(sh.SessionID) == string(ch.SessionID):
		master = k.sessions[string(sh.SessionID)]
	}
	if master == nil {
		return nil
	}
	if len(sh.SessionID) > 0 && len(k.sessions) < maxSessions {
		k.sessions[string(sh.SessionID)] = master
	}
	for _, t := range hs.SessionTickets {
		if len(k.tickets) < maxSessions && t.TicketLength > 0 {
			k.tickets[t.TicketHash] = master
		}
	}
	return master
}

// masterSecret implements finishedChecker.
func (k *LogKeys) masterSecret(hs *Handshake) []byte {
	ch := hs.LatestClientHello()
	if ch == nil || hs.ServerHello == nil {
		return nil
	}
	return k.master(hs, k.log.Lookup(ch.Random))
}

// known reports whether the key log, or the session cache, has keys for
// the connection.
func (k *LogKeys) known(hs *Handshake) bool {
	ch := hs.LatestClientHello()
	if ch == nil {
		return false
	}
	if k.log.Lookup(ch.Random) != nil {
		return true
	}
	sh := hs.ServerHello
	if sh == nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sessions[string(sh.SessionID)] != nil || ch.SessionTicketLen > 0 && k.tickets[ch.SessionTicketHash] != nil
}

func hasExtension(exts []Extension, t uint16) bool {
	for _, e := range exts {
		if e.Type == t {
			return true
		}
	}
	return false
}
