package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

// retryTag computes a Retry Integrity Tag (RFC 9001 §5.8, RFC 9369
// §3.3.3): AES-128-GCM with the version's fixed key and nonce over the
// Retry Pseudo-Packet, the original DCID with its length before the Retry
// packet without its tag.
func retryTag(vp *versionParams, originalDCID, retryNoTag []byte) []byte {
	block, err := aes.NewCipher(vp.retryKey)
	if err != nil {
		panic("quic: retry key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("quic: retry AEAD: " + err.Error())
	}
	pseudo := make([]byte, 0, 1+len(originalDCID)+len(retryNoTag))
	pseudo = append(pseudo, byte(len(originalDCID)))
	pseudo = append(pseudo, originalDCID...)
	pseudo = append(pseudo, retryNoTag...)
	return aead.Seal(nil, vp.retryNonce, nil, pseudo)
}

// RetryValid reports whether retry, a whole Retry packet, carries the
// integrity tag of a server that saw the client's Initial with
// Destination Connection ID originalDCID.
func RetryValid(v Version, originalDCID []byte, retry []byte) bool {
	vp := v.params()
	if vp == nil || len(originalDCID) > 255 || len(retry) < 7+16 {
		return false
	}
	n := len(retry) - 16
	return subtle.ConstantTimeCompare(retryTag(vp, originalDCID, retry[:n]), retry[n:]) == 1
}

// AppendRetryTag appends the integrity tag to a Retry packet written
// without it, for generators of captures.
func AppendRetryTag(v Version, originalDCID, retryNoTag []byte) ([]byte, error) {
	vp := v.params()
	if vp == nil {
		return nil, errors.New("quic: retry: version " + v.String() + " unknown")
	}
	if len(originalDCID) > 255 {
		return nil, errors.New("quic: retry: original connection ID longer than 255 bytes")
	}
	return append(retryNoTag, retryTag(vp, originalDCID, retryNoTag)...), nil
}
