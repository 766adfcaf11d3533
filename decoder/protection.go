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

// keyUpdater is a RecordCipher that can move to the next generation of
// its traffic secret (TLS 1.3 KeyUpdate, RFC 8446 §4.6.3).
type keyUpdater interface{ Update() error }

// Keys gives the cipher for a side's records in an epoch, or an error
// that says why there is none: errNoKeys (the usual case of a passive
// observer), errNoClientHello, an unsupported cipher. The handshake so far
// is there to find them by (the ClientHello's random for a key log).
type Keys interface {
	Cipher(from Side, e Epoch, hs *Handshake) (RecordCipher, error)
}

var (
	// errRecordMAC is what every version's cipher wraps when a record
	// fails its AEAD tag or MAC (bad_record_mac): with keys that fit, a
	// definitive sign that they do not.
	errRecordMAC = errors.New("bad_record_mac")
	// errCipherUnsupported is what every version's cipher wraps when it
	// cannot open the negotiated suite at all.
	errCipherUnsupported = errors.New("unsupported cipher")
	// errNoKeys: the record is protected and nothing can open it.
	errNoKeys = errors.New("protected record, no keys")
	// errNoClientHello: no ClientHello, so no client random to look up.
	errNoClientHello = errors.New("no ClientHello: nothing to look the keys up by")
)

// maxResync bounds the sequence numbers tried after a capture gap inside
// protected records: each try is one AEAD or MAC check.
const maxResync = 64

// protection is the record protection of one direction, in the manner of
// crypto/tls's halfConn: the epoch its records are in, the cipher that
// opens them, and the sequence number of the next record. Without keys it
// only says that a record is protected.
type protection struct {
	epoch Epoch
	// resync: records were lost (a capture gap), so the next record's
	// sequence number is not known: try the next ones against the tag.
	resync bool
	cipher RecordCipher
	seq    uint64
	// counts, with keys only: a passive observer's usual connection does
	// not pay for them.
	counts *protCounts
}

// protCounts count protected records per epoch: opened, and not; wrong
// says the first record with a cipher failed its tag or MAC (the keys are
// wrong); resynced counts gaps after which the sequence was found again.
type protCounts struct {
	// missing says why there is no cipher in this epoch, when there is none
	missing          error
	opened, unopened [epochs]int32
	wrong            [epochs]bool
	resynced         int32
	// late: the cipher came after records of its epoch went by unopened
	// (a key log line written after them): the epoch may have moved on
	// unseen, so a failure then says nothing of the keys.
	late bool
}

var noCounts protCounts

// stats are the counts, empty when there are none.
func (p *protection) stats() *protCounts {
	if p.counts == nil {
		return &noCounts
	}
	return p.counts
}

// epochs is the number of Epoch values.
const epochs = 4

// protected reports whether records are no longer plaintext.
func (p *protection) protected() bool { return p.epoch != EpochPlaintext }

// open returns the real content type and plaintext of a record, the
// record itself while the epoch is plaintext, or why it cannot.
func (p *protection) open(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	if p.epoch == EpochPlaintext {
		return typ, body, nil
	}
	if p.cipher == nil {
		p.seq++ // counted, so that keys that come later open the next records
		if p.counts != nil {
			p.counts.unopened[p.epoch]++
		}
		if p.counts != nil && p.counts.missing != nil {
			return typ, nil, p.counts.missing
		}
		return typ, nil, errNoKeys
	}
	tries := uint64(1)
	if p.resync {
		tries = maxResync
	}
	var err error
	for i := uint64(0); i < tries; i++ {
		var inner uint8
		var plain []byte
		inner, plain, err = p.cipher.Open(typ, version, body, p.seq+i)
		if err == nil {
			if p.resync {
				p.resync = false
				p.counts.resynced++
			}
			p.seq += i + 1
			p.counts.opened[p.epoch]++
			return inner, plain, nil
		}
		if !badMAC(err) {
			break
		}
	}
	p.counts.unopened[p.epoch]++
	if badMAC(err) && p.counts.late {
		p.cipher, p.counts.late = nil, false
		return typ, nil, err
	}
	if badMAC(err) && p.counts.opened[p.epoch] == 0 && !p.resync {
		// The first record fails: the keys do not fit. Stop: a wrong key
		// must never yield fields.
		p.counts.wrong[p.epoch] = true
		p.cipher = nil
		p.counts.missing = err
	}
	return typ, nil, err
}

// badMAC reports a record that failed its AEAD tag or MAC.
func badMAC(err error) bool { return errors.Is(err, errRecordMAC) }

// enter switches to a new epoch with its cipher, or why there is none.
func (p *protection) enter(e Epoch, c RecordCipher, why error, keys bool) {
	p.epoch, p.cipher, p.seq, p.resync = e, c, 0, false
	if keys && p.counts == nil {
		p.counts = new(protCounts)
	}
	if p.counts != nil {
		p.counts.missing, p.counts.late = why, false
	}
}

// keyUpdate moves the cipher to the next traffic secret.
func (p *protection) keyUpdate() {
	if u, ok := p.cipher.(keyUpdater); ok {
		if err := u.Update(); err == nil {
			p.seq = 0
			return
		}
	}
}

// lostRecords says that records of this direction may be missing (a
// capture gap): the next sequence number is unknown.
func (p *protection) lostRecords() {
	if p.cipher != nil {
		p.resync = true
	}
}
