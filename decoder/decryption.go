package decoder

import (
	"encoding/hex"
	"errors"
	"strings"
)

// DecryptStatus says what keys did for a connection.
type DecryptStatus string

const (
	// DecryptDecrypted: every protected record was opened.
	DecryptDecrypted DecryptStatus = "decrypted"
	// DecryptPartial: some epochs were opened, others stayed unreadable.
	DecryptPartial DecryptStatus = "partial"
	// DecryptNoKeys: the client random is in no key log.
	DecryptNoKeys DecryptStatus = "no_keys"
	// DecryptWrongKeys: a key exists, but the first protected record fails
	// its AEAD tag or MAC: a definitive test, not a guess.
	DecryptWrongKeys DecryptStatus = "wrong_keys"
	// DecryptNoClientHello: a capture without the ClientHello has nothing
	// to look keys up by.
	DecryptNoClientHello DecryptStatus = "no_client_hello"
	// DecryptUnsupported: the negotiated cipher is one we cannot open.
	DecryptUnsupported DecryptStatus = "unsupported_cipher"
)

// Decryption is what keys did for one connection.
type Decryption struct {
	Status DecryptStatus
	Reason string
	// Opened and Unopened count protected records by side.
	Opened, Unopened [2]int
	// Unread names the epochs (and sides) left unreadable, for partial.
	Unread []string
	// Resynced counts capture gaps inside protected records after which
	// the sequence number was found again by trying the next ones.
	Resynced int
}

// decryption judges what the keys did, from each direction's protection.
func (c *Conn) decryption() *Decryption {
	d := &Decryption{}
	ch := c.m.HS.LatestClientHello()
	var wrong, unsupported, missing bool
	var whyWrong string
	for _, side := range []Side{Client, Server} {
		p := &c.prot[c.dirOf(side)]
		n := p.stats()
		d.Resynced += int(n.resynced)
		for e := EpochEarlyData; e <= EpochApplication; e++ {
			d.Opened[side] += int(n.opened[e])
			d.Unopened[side] += int(n.unopened[e])
			if n.unopened[e] == 0 {
				continue
			}
			d.Unread = append(d.Unread, side.String()+" "+e.String())
			switch {
			case n.wrong[e]:
				wrong = true
				whyWrong = side.String() + "'s first " + e.String() + " record"
			case errors.Is(n.missing, errCipherUnsupported):
				unsupported = true
			default:
				missing = true
			}
		}
	}
	opened := d.Opened[0]+d.Opened[1] > 0
	switch {
	case c.keyLog() == nil:
		d.Status, d.Reason = DecryptNoKeys, "no key log given (--keylog FILE, or a pcapng with a Decryption Secrets Block)"
		d.Unread = nil
	case ch == nil:
		d.Status, d.Reason = DecryptNoClientHello, "the capture has no ClientHello, so no client random to look the keys up by"
	case wrong:
		d.Status = DecryptWrongKeys
		d.Reason = "the key log has client random " + shortRandom(ch.Random) + ", but its secret does not open the " + whyWrong +
			" (the AEAD tag or MAC fails): a secret for another connection, an edited log, or the other leg of a TLS proxy"
	case unsupported && c.m.version() == VersionSSL30:
		d.Status = DecryptUnsupported
		d.Reason = "SSL 3.0 is not decrypted (its MAC, key block and Finished differ from TLS's)"
	case unsupported:
		d.Status = DecryptUnsupported
		d.Reason = "the negotiated cipher " + CipherSuiteName(c.suite()) + " is not one tlsscope decrypts"
	case missing && opened:
		d.Status = DecryptPartial
		d.Reason = "unreadable: " + strings.Join(d.Unread, ", ") + " (the key log lacks their secrets)"
	case missing && !c.found():
		d.Status = DecryptNoKeys
		d.Reason = "client random " + shortRandom(ch.Random) + " is in no key log given"
	case missing:
		d.Status, d.Reason = DecryptPartial, "unreadable: "+strings.Join(d.Unread, ", ")
	default:
		d.Status, d.Reason = DecryptDecrypted, "every protected record opened"
		if !opened {
			d.Reason = "keys found; nothing was protected"
		}
	}
	if d.Resynced > 0 {
		d.Reason += "; after a capture gap the record sequence was found again by trying the next numbers"
	}
	return d
}

// found reports whether the keys knew this connection's client random.
func (c *Conn) found() bool {
	if f, ok := c.keyLog().(interface{ known(*Handshake) bool }); ok {
		return f.known(&c.m.HS)
	}
	return false
}

func (c *Conn) suite() uint16 {
	if sh := c.m.HS.ServerHello; sh != nil {
		return sh.CipherSuite
	}
	return 0
}

// shortRandom shows the start of a client random, enough to find it in a
// key log (it is not secret).
func shortRandom(r []byte) string {
	if len(r) > 8 {
		r = r[:8]
	}
	return hex.EncodeToString(r) + "…"
}
