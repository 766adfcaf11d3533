package decoder

import (
	"errors"
	"fmt"
)

// DTLS record protection (RFC 6347 §4.1.2): DTLS 1.0 and 1.2 protect
// records as TLS 1.1 and 1.2 do, with two differences, both in what the
// cipher is given rather than in the cipher: the sequence number is the
// record's own, explicit in its header, not a count kept by the reader;
// and the 64-bit value the MAC and the AEAD's additional data start with
// is epoch || sequence_number (§4.1.2.1), which is how a TLS 1.2 cipher
// writes the 64-bit sequence number it is given. So cipher12's ciphers
// serve DTLS unchanged: Open(type, record version, body, epoch<<48|seq).
// AES-GCM and AES-CCM send their 8-byte explicit nonce as TLS 1.2 does
// (RFC 5288 §3); ChaCha20-Poly1305 XORs epoch||seq into its IV (RFC 7905
// §2). CBC suites send an explicit IV (DTLS 1.0 is TLS 1.1's, RFC 4347
// §4.1.2.1): TLSEquivalent maps the key derivation.
//
// DTLS 1.3 (RFC 9147) protects its records otherwise: the unified header,
// record number encryption and the "dtls13" labels (dtls13_protection.go).
// A DTLSPlaintext record of an epoch above 0 in DTLS 1.3 is none a
// conforming sender writes (§4): errDTLS13Plaintext.

// errDTLS13Plaintext: DTLS 1.3 protects records only under the unified
// header (RFC 9147 §4).
var errDTLS13Plaintext = errors.New("a DTLS 1.3 record with the DTLSPlaintext header in a protected epoch (RFC 9147 §4 protects records under the unified header only)")

// dtlsProtection is one direction's record protection: the cipher of the
// epoch after its ChangeCipherSpec, and what became of its records.
type dtlsProtection struct {
	// entered: the machine moved the side to a protected epoch; asked:
	// the keys were asked for (once).
	entered, asked bool
	cipher         RecordCipher
	cipherEpoch    uint16
	// why there is no cipher
	why              error
	opened, unopened int
	// wrong: the first record under the cipher failed its MAC or tag: the
	// keys do not fit, and the cipher was dropped.
	wrong bool
}

// cipherFor looks up the cipher for records of epoch e once, as the TLS
// record layer does at a ChangeCipherSpec; epoch 1 is the first
// handshake's (RFC 6347 §4.1), later ones a renegotiation's, unopened.
func (c *DTLSConn) cipherFor(d Dir, e uint16) RecordCipher {
	p := &c.prot[d]
	if e != 1 {
		if p.why == nil {
			p.why = fmt.Errorf("epoch %d (a renegotiation) is not decrypted", e)
		}
		return nil
	}
	if p.asked || c.keys == nil || c.m.HS.ServerHello == nil {
		// Without the ServerHello, no suite: asked again later.
		return p.cipher
	}
	p.asked = true
	if v := c.m.HS.Version(); v == VersionDTLS13 {
		p.why = errDTLS13Plaintext
		return nil
	}
	rc, err := c.keys.Cipher(c.role(d), EpochApplication, &c.m.HS)
	if rc == nil {
		if err == nil {
			err = errNoKeys
		}
		p.why = err
		return nil
	}
	p.cipher, p.cipherEpoch = rc, e
	return rc
}

// open returns a protected record's plaintext, or why not.
func (c *DTLSConn) open(d Dir, r *dtlsRecord) ([]byte, error) {
	p := &c.prot[d]
	rc := c.cipherFor(d, r.epoch)
	if rc == nil {
		p.unopened++
		if p.why != nil {
			return nil, p.why
		}
		return nil, errNoKeys
	}
	_, plain, err := rc.Open(r.typ, r.version, r.body, uint64(r.epoch)<<48|r.seq)
	if err != nil {
		p.unopened++
		if badMAC(err) && p.opened == 0 {
			// The first record fails: the keys do not fit. Stop: a wrong
			// key must never yield fields.
			p.wrong, p.cipher, p.why = true, nil, err
		}
		return nil, err
	}
	p.opened++
	return plain, nil
}

// enter follows the machine's epochs: only that the side is protected
// now; the record's own epoch says under which keys (cipherFor).
func (c *DTLSConn) enter(side Side, e Epoch) {
	if e != EpochPlaintext {
		c.prot[c.dirOf(side)].entered = true
	}
}

func (c *DTLSConn) keyUpdate(Side)                       {}
func (c *DTLSConn) renegotiated(from Side, _ *Handshake) {}

// decryption says what the keys did, as Conn.decryption does for TLS.
func (c *DTLSConn) decryption() *Decryption {
	d := &Decryption{}
	var wrong, unsupported bool
	var why error
	for _, side := range []Side{Client, Server} {
		p := &c.prot[c.dirOf(side)]
		d.Opened[side], d.Unopened[side] = p.opened, p.unopened
		if p.unopened > 0 {
			d.Unread = append(d.Unread, side.String()+" "+EpochApplication.String())
		}
		wrong = wrong || p.wrong
		unsupported = unsupported || errors.Is(p.why, errCipherUnsupported)
		if why == nil {
			why = p.why
		}
	}
	ch := c.m.HS.LatestClientHello()
	opened := d.Opened[0]+d.Opened[1] > 0
	unopened := d.Unopened[0]+d.Unopened[1] > 0
	switch {
	case c.keys == nil:
		d.Status, d.Reason, d.Unread = DecryptNoKeys, "no key log given (--keylog FILE, or a pcapng with a Decryption Secrets Block)", nil
	case ch == nil:
		d.Status, d.Reason = DecryptNoClientHello, "the capture has no ClientHello, so no client random to look the keys up by"
	case wrong:
		d.Status = DecryptWrongKeys
		d.Reason = "the key log has client random " + shortRandom(ch.Random) + ", but its secret does not open the first protected record (the AEAD tag or MAC fails)"
	case unsupported:
		d.Status = DecryptUnsupported
		d.Reason = "the negotiated cipher " + CipherSuiteName(c.suite()) + " is not one tlsscope decrypts"
	case unopened && opened:
		d.Status, d.Reason = DecryptPartial, "some protected records stayed unreadable"
	case unopened:
		d.Status, d.Reason = DecryptNoKeys, "client random "+shortRandom(ch.Random)+" is in no key log given"
		if why != nil && !errors.Is(why, errNoKeys) {
			d.Reason = why.Error()
		}
	default:
		d.Status, d.Reason = DecryptDecrypted, "every protected record opened"
		if !opened {
			d.Reason = "keys found; nothing was protected"
		}
	}
	return d
}

func (c *DTLSConn) suite() uint16 {
	if sh := c.m.HS.ServerHello; sh != nil {
		return sh.CipherSuite
	}
	return 0
}
