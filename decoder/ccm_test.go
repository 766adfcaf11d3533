package decoder

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex with any spaces, as the RFCs print it.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ccmVectors are published CCM examples; sealed is ciphertext || tag.
var ccmVectors = []struct {
	name                          string
	key, nonce, ad, plain, sealed string
	tagSize                       int
}{
	// NIST SP 800-38C Appendix C, Examples 1-3 (C.1-C.3).
	{"SP800-38C C.1", "404142434445464748494a4b4c4d4e4f", "10111213141516", "0001020304050607",
		"20212223", "7162015b 4dac255d", 4},
	{"SP800-38C C.2", "404142434445464748494a4b4c4d4e4f", "1011121314151617", "000102030405060708090a0b0c0d0e0f",
		"202122232425262728292a2b2c2d2e2f", "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd", 6},
	{"SP800-38C C.3", "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b", "000102030405060708090a0b0c0d0e0f10111213",
		"202122232425262728292a2b2c2d2e2f3031323334353637",
		"e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951", 8},
	// RFC 3610 Section 8, Packet Vectors #1-#3 (M = 8, L = 2): the first 8
	// octets of each packet are the header (additional data).
	{"RFC3610 #1", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", "0001020304050607",
		"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
		"588c979a61c663d2f066d0c2c0f989806d5f6b61dac384 17e8d12cfdf926e0", 8},
	{"RFC3610 #2", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000004030201a0a1a2a3a4a5", "0001020304050607",
		"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3b a091d56e10400916", 8},
	{"RFC3610 #3", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000005040302a0a1a2a3a4a5", "0001020304050607",
		"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"51b1e5f44a197d1da46b0f8e2d282ae871e838bb64da859657 4adaa76fbd9fb0c5", 8},
}

func TestCCMVectors(t *testing.T) {
	for _, v := range ccmVectors {
		t.Run(v.name, func(t *testing.T) {
			block, err := aes.NewCipher(unhex(t, v.key))
			if err != nil {
				t.Fatal(err)
			}
			nonce := unhex(t, v.nonce)
			aead, err := newCCMWithNonceSize(block, v.tagSize, len(nonce))
			if err != nil {
				t.Fatal(err)
			}
			ad, plain, sealed := unhex(t, v.ad), unhex(t, v.plain), unhex(t, v.sealed)
			if got := aead.Seal(nil, nonce, plain, ad); !bytes.Equal(got, sealed) {
				t.Fatalf("Seal = %x, want %x", got, sealed)
			}
			got, err := aead.Open(nil, nonce, sealed, ad)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("Open = %x, %v, want %x", got, err, plain)
			}
			for i := range sealed {
				bad := bytes.Clone(sealed)
				bad[i] ^= 0x80
				if _, err := aead.Open(nil, nonce, bad, ad); err == nil {
					t.Fatalf("Open accepted a flipped octet %d", i)
				}
			}
			if len(ad) > 0 {
				if _, err := aead.Open(nil, nonce, sealed, ad[1:]); err == nil {
					t.Fatal("Open accepted other additional data")
				}
			}
		})
	}
}

// TestCCMRoundTrip seals and opens every length across the block
// boundaries, with and without additional data, in place and not, for
// both TLS tag sizes.
func TestCCMRoundTrip(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	for _, tagSize := range []int{16, 8} {
		aead, err := newCCM(block, tagSize)
		if err != nil {
			t.Fatal(err)
		}
		if aead.NonceSize() != 12 || aead.Overhead() != tagSize {
			t.Fatalf("NonceSize %d Overhead %d", aead.NonceSize(), aead.Overhead())
		}
		nonce := make([]byte, 12)
		for n := 0; n <= 70; n++ {
			plain := make([]byte, n)
			rand.Read(plain)
			rand.Read(nonce)
			for _, ad := range [][]byte{nil, {23, 3, 3, 0, byte(n + tagSize)}, bytes.Repeat([]byte{7}, 40)} {
				sealed := aead.Seal([]byte("prefix"), nonce, plain, ad)
				if !bytes.HasPrefix(sealed, []byte("prefix")) || len(sealed) != 6+n+tagSize {
					t.Fatalf("Seal length %d", len(sealed))
				}
				ct := sealed[6:]
				got, err := aead.Open(nil, nonce, ct, ad)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("n=%d: Open = %x, %v", n, got, err)
				}
				inPlace := bytes.Clone(ct)
				got, err = aead.Open(inPlace[:0], nonce, inPlace, ad)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("n=%d: Open in place = %x, %v", n, got, err)
				}
			}
		}
		if _, err := aead.Open(nil, nonce, make([]byte, tagSize-1), nil); err == nil {
			t.Fatal("Open accepted a ciphertext shorter than the tag")
		}
	}
	if _, err := newCCM(block, 12); err == nil {
		t.Fatal("newCCM accepted a tag size TLS does not use")
	}
}
