package decoder

// The pseudorandom functions of TLS 1.0 to 1.2, the Finished message's
// verify_data, and the handshake hash it is computed over. SSL 3.0 has no
// PRF (RFC 6101 §6.2.2 mixes MD5 and SHA-1 its own way) and is not done.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// pHash is P_hash of RFC 5246 §5 (RFC 2246 §5): HMAC_hash(secret, A(i) +
// seed) for A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)), cut to n bytes.
func pHash(h func() hash.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n+64)
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// prf10 is the PRF of TLS 1.0 and 1.1 (RFC 2246 §5, RFC 4346 §5):
// P_MD5(S1, label + seed) XOR P_SHA-1(S2, label + seed), S1 and S2 the
// first and last halves of the secret, sharing its middle byte when its
// length is odd.
func prf10(secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	half := (len(secret) + 1) / 2
	out := pHash(md5.New, secret[:half], ls, n)
	sha := pHash(sha1.New, secret[len(secret)-half:], ls, n)
	for i := range out {
		out[i] ^= sha[i]
	}
	return out
}

// prfHash12 is the hash of a TLS 1.2 suite's PRF: SHA-256 (RFC 5246 §5)
// unless the suite names SHA-384 (RFC 5288 §3, RFC 5289 §3.2 and their
// like; those are the only ones registered with a stronger hash).
func prfHash12(suite uint16) func() hash.Hash {
	if strings.HasSuffix(CipherSuiteName(suite), "_SHA384") {
		return sha512.New384
	}
	return sha256.New
}

// prf12 is the PRF of the version and suite: PRF(secret, label, seed) cut
// to n bytes (RFC 5246 §5, RFC 2246 §5). It is nil for SSL 3.0 and for
// versions it does not know.
func prf12(version, suite uint16, secret []byte, label string, seed []byte, n int) []byte {
	switch version {
	case VersionTLS10, VersionTLS11:
		return prf10(secret, label, seed, n)
	case VersionTLS12:
		return pHash(prfHash12(suite), secret, append([]byte(label), seed...), n)
	}
	return nil
}

// transcriptHash12 is the hash of the handshake messages a Finished
// message covers (RFC 5246 §7.4.9): MD5 followed by SHA-1 before TLS 1.2
// (RFC 2246 §7.4.9), the PRF's hash in TLS 1.2. handshakeMessages are
// the messages, headers included, in the order they were sent, without
// ChangeCipherSpec, HelloRequest or record headers.
func transcriptHash12(version, suite uint16, handshakeMessages []byte) []byte {
	if version == VersionTLS12 {
		h := prfHash12(suite)()
		h.Write(handshakeMessages)
		return h.Sum(nil)
	}
	m := md5.Sum(handshakeMessages)
	s := sha1.Sum(handshakeMessages)
	return append(m[:], s[:]...)
}

// finishedVerifyData12 is a Finished message's verify_data (RFC 5246
// §7.4.9, RFC 2246 §7.4.9): PRF(master_secret, "client finished" or
// "server finished", transcript hash), 12 bytes. It is nil for SSL 3.0.
func finishedVerifyData12(version, suite uint16, master []byte, fromClient bool, transcriptHash []byte) []byte {
	label := "server finished"
	if fromClient {
		label = "client finished"
	}
	return prf12(version, suite, master, label, transcriptHash, 12)
}
