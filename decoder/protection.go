package decoder

import "errors"

// RecordCipher opens the protected records of one direction in one epoch:
// the AEAD of TLS 1.3 (RFC 8446 §5.2) or the cipher and MAC TLS 1.2 and
// earlier negotiated. Decryption with a key log plugs in here.
type RecordCipher interface {
	// Open returns a record's plaintext and its real content type (TLS 1.3
	// hides it inside), or an error when the record does not authenticate.
	// seq is the record's sequence number in its epoch (RFC 8446 §5.3).
	Open(typ uint8, version uint16, body []byte, seq uint64) (inner uint8, plaintext []byte, err error)
}

// Keys gives the cipher for a side's records in an epoch, or nil when no
// keys are known (a passive observer's usual case). The handshake so far
// is there to find them by (the ClientHello's random for a key log).
type Keys interface {
	Cipher(from Side, e Epoch, hs *Handshake) RecordCipher
}

// errNoKeys: the record is protected and nothing can open it.
var errNoKeys = errors.New("protected record, no keys")

// protection is the record protection of one direction, in the manner of
// crypto/tls's halfConn: the epoch its records are in, the cipher that
// opens them, and the sequence number of the next record. Without keys it
// only says that a record is protected.
type protection struct {
	epoch  Epoch
	cipher RecordCipher
	seq    uint64
}

// protected reports whether records are no longer plaintext.
func (p *protection) protected() bool { return p.epoch != EpochPlaintext }

// open returns the real content type and plaintext of a record, the
// record itself while the epoch is plaintext, or errNoKeys.
func (p *protection) open(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	if p.epoch == EpochPlaintext {
		return typ, body, nil
	}
	if p.cipher == nil {
		return typ, nil, errNoKeys
	}
	inner, plain, err := p.cipher.Open(typ, version, body, p.seq)
	if err != nil {
		return typ, nil, err
	}
	p.seq++
	return inner, plain, nil
}

// enter switches to a new epoch with its cipher (nil without keys).
func (p *protection) enter(e Epoch, c RecordCipher) {
	p.epoch, p.cipher, p.seq = e, c, 0
}
