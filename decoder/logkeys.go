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
		secret := s.traffic13(from, e)
		if secret == nil {
			return nil, errNoKeys
		}
		c, err := newCipher13(suite13(hs), secret)
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

// traffic13 is a TLS 1.3 (or DTLS 1.3) traffic secret of the key log:
// from's in epoch e, nil when the log lacks it.
func (s *Secrets) traffic13(from Side, e Epoch) []byte {
	switch {
	case e == EpochEarlyData && from == Client:
		return s.ClientEarly
	case e == EpochHandshake && from == Client:
		return s.ClientHandshake
	case e == EpochHandshake:
		return s.ServerHandshake
	case e == EpochApplication && from == Client:
		return s.ClientTraffic0
	case e == EpochApplication:
		return s.ServerTraffic0
	}
	return nil
}

// suite13 is the suite a TLS 1.3 handshake's records are protected with:
// the ServerHello's; before it (0-RTT), the resumed session's, usually
// the first the client offered.
func suite13(hs *Handshake) uint16 {
	if sh := hs.ServerHello; sh != nil {
		return sh.CipherSuite
	}
	if ch := hs.LatestClientHello(); ch != nil && len(ch.CipherSuites) > 0 {
		return ch.CipherSuites[0]
	}
	return 0
}

// trafficKeys13 implements dtls13Keyer: DTLS 1.3's keys for from's
// records in epoch e, derived with the "dtls13" labels (RFC 9147 §5.9).
func (k *LogKeys) trafficKeys13(from Side, e Epoch, hs *Handshake) (*TrafficKeys, error) {
	secret, err := k.secret13(from, e, hs)
	if err != nil {
		return nil, err
	}
	return ScheduleDTLS13.TrafficKeys(suite13(hs), secret)
}

// secret13 is from's traffic secret of epoch e, or why there is none.
func (k *LogKeys) secret13(from Side, e Epoch, hs *Handshake) ([]byte, error) {
	ch := hs.LatestClientHello()
	if ch == nil {
		return nil, errNoClientHello
	}
	s := k.log.Lookup(ch.Random)
	if s == nil {
		return nil, errNoKeys
	}
	if secret := s.traffic13(from, e); secret != nil {
		return secret, nil
	}
	return nil, errNoKeys
}

// handshakeSecret13 implements finished13Checker.
func (k *LogKeys) handshakeSecret13(from Side, hs *Handshake) []byte {
	s, _ := k.secret13(from, EpochHandshake, hs)
	return s
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
