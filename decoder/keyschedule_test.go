package decoder

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"testing"
)

// TestHkdfLabelLayout builds the HkdfLabel of RFC 8446 §7.1 byte by byte
// from the struct (uint16 length, label<7..255> with the prefix,
// context<0..255>), for TLS's "tls13 " prefix and DTLS 1.3's "dtls13"
// (RFC 9147 §5.9: no space after it).
func TestHkdfLabelLayout(t *testing.T) {
	for _, c := range []struct {
		s       *KeySchedule
		label   string
		context []byte
		length  int
		want    []byte
	}{
		{ScheduleTLS13, "key", nil, 16, []byte{0x00, 0x10, 9, 't', 'l', 's', '1', '3', ' ', 'k', 'e', 'y', 0}},
		{ScheduleQUIC, "quic hp", nil, 32, []byte{0x00, 0x20, 13, 't', 'l', 's', '1', '3', ' ', 'q', 'u', 'i', 'c', ' ', 'h', 'p', 0}},
		{ScheduleDTLS13, "sn", nil, 16, []byte{0x00, 0x10, 8, 'd', 't', 'l', 's', '1', '3', 's', 'n', 0}},
		{ScheduleDTLS13, "iv", nil, 12, []byte{0x00, 0x0c, 8, 'd', 't', 'l', 's', '1', '3', 'i', 'v', 0}},
		{ScheduleDTLS13, "traffic upd", nil, 48, []byte{0x00, 0x30, 17, 'd', 't', 'l', 's', '1', '3', 't', 'r', 'a', 'f', 'f', 'i', 'c', ' ', 'u', 'p', 'd', 0}},
		{ScheduleDTLS13, "c hs traffic", []byte{0xaa, 0xbb}, 32, []byte{0x00, 0x20, 18, 'd', 't', 'l', 's', '1', '3', 'c', ' ', 'h', 's', ' ', 't', 'r', 'a', 'f', 'f', 'i', 'c', 2, 0xaa, 0xbb}},
	} {
		if got := c.s.hkdfLabel(c.label, c.context, c.length); !bytes.Equal(got, c.want) {
			t.Errorf("%q%q: %x, want %x", c.s.Prefix, c.label, got, c.want)
		}
	}
}

// TestTrafficKeysQUIC derives QUIC's packet protection from RFC 9001
// Appendix A's secrets: A.1's keys and ivs, the header-protection masks
// of A.2 and A.3's samples (AES) and A.5's (ChaCha20), and A.5's payload
// opened with the nonce of packet number 654360564; and RFC 9369 A.1's
// client key and iv for QUIC version 2.
func TestTrafficKeysQUIC(t *testing.T) {
	for _, v := range []struct {
		name         string
		s            *KeySchedule
		suite        uint16
		secret, key  string
		iv           string
		sample, mask string // the first 5 octets of the mask
		keyLen       int
	}{
		{"RFC 9001 A.1/A.2 client", ScheduleQUIC, 0x1301, "c00cf151ca5be075ed0ebfb5c80323c4 2d6b7db67881289af4008f1f6c357aea",
			"1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "d1b1c98dd7689fb8ec11d242b123dc9b", "437b9aec36", 16},
		{"RFC 9001 A.1/A.3 server", ScheduleQUIC, 0x1301, "3c199828fd139efd216c155ad844cc81 fb82fa8d7446fa7d78be803acdda951b",
			"cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "2cd0991cd25b0aac406a5816b6394100", "2ec0d8356a", 16},
		{"RFC 9001 A.5 ChaCha20", ScheduleQUIC, 0x1303, "9ac312a7f877468ebe69422748ad00a1 5443f18203a07d6060f688f30f21632b",
			"c6d98ff3441c3fe1b2182094f69caa2e d4b716b65488960a7a984979fb23e1c8", "e0459b3474bdd0e44a41c144", "5e5cd55c41f69080575d7999c25a5bfb", "aefefe7d03", 32},
		{"RFC 9369 A.1 client", ScheduleQUICv2, 0x1301, "14ec9d6eb9fd7af83bf5a668bc17a7e2 83766aade7ecd0891f70f9ff7f4bf47b",
			"8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "", "", 16},
	} {
		secret := unhex(t, v.secret)
		k, err := v.s.TrafficKeys(v.suite, secret)
		if err != nil {
			t.Fatal(v.name, err)
		}
		if key := v.s.ExpandLabel(sha256.New, secret, v.s.Key, nil, v.keyLen); !bytes.Equal(key, unhex(t, v.key)) {
			t.Errorf("%s: key %x, want %s", v.name, key, v.key)
		}
		if n := k.Nonce(0); !bytes.Equal(n[:], unhex(t, v.iv)) {
			t.Errorf("%s: iv %x, want %s", v.name, n, v.iv)
		}
		if v.sample != "" {
			if m := k.Mask(unhex(t, v.sample)); !bytes.Equal(m[:5], unhex(t, v.mask)) {
				t.Errorf("%s: mask %x, want %s", v.name, m[:5], v.mask)
			}
		}
		// A key update keeps the header protection key (RFC 9001 §6) and
		// changes the AEAD key and iv.
		next := k.Next()
		if next.Mask(make([]byte, 16)) != k.Mask(make([]byte, 16)) || next.Nonce(0) == k.Nonce(0) {
			t.Errorf("%s: the key update's keys", v.name)
		}
		want := v.s.ExpandLabel(sha256.New, secret, v.s.Update, nil, 32)
		if w, _ := v.s.TrafficKeys(v.suite, want); w.Nonce(0) != next.Nonce(0) {
			t.Errorf("%s: Next is not the %q secret's", v.name, v.s.Update)
		}
	}
	// A.5: the payload, with the unprotected header as additional data.
	k, _ := ScheduleQUIC.TrafficKeys(0x1303, unhex(t, "9ac312a7f877468ebe69422748ad00a1 5443f18203a07d6060f688f30f21632b"))
	nonce := k.Nonce(654360564)
	plain, err := k.AEAD().Open(nil, nonce[:], unhex(t, "655e5cd55c41f69080575d7999c25a5bfb"), unhex(t, "4200bff4"))
	if err != nil || !bytes.Equal(plain, []byte{1}) {
		t.Fatalf("A.5 payload %x, %v; want 01", plain, err)
	}
}

// pion/dtls v4.0.1's known DTLS 1.3 vectors
// (internal/ciphersuite/tls_13_record_protection_test.go,
// tls13KnownVectors), an implementation of RFC 9147 independent of this
// one: traffic secrets, the key, iv and sn_key derived with the "dtls13"
// prefix, the nonce of record number 0x0001020304050607, a record with a
// unified header (epoch 3, connection ID cafebabe, 16-bit sequence number,
// length) sealed under it, and the record number mask of its first 16
// octets (RFC 9147 §4.2.3). The same values come out of OpenSSL's HKDF
// with the HkdfLabels TestHkdfLabelLayout checks (see the commit).
var dtls13Vectors = []struct {
	name              string
	suite             uint16
	secret            string
	key, iv, sn       string
	nonce             string
	ad, record, plain string
	mask              string // the first 16 octets
	peerSecret        string
	peerKey, peerIV   string
	peerSN            string
}{
	{
		name: "TLS_AES_128_GCM_SHA256", suite: 0x1301,
		secret: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		key:    "cc95abc258d309424ddbf7cba68bd77e", iv: "6d3299305dd209fc865cf8f1", sn: "c5b1a0649ea4fdafbe7e256665068222",
		nonce: "6d3299305dd30bff8259fef6",
		ad:    "3fcafebabe0607002a", record: "82bacfceae1035329372dbcbdce0240faf434e68077fb4df25edc71ddd89db18b510ccd2518b77499d7e",
		plain: "dtls13 aes-128-gcm vector", mask: "adc05ac9d6be3e1570d34d94457bdb31",
		peerSecret: "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
		peerKey:    "18e38156d5a877f3114a359c90cf6b1c", peerIV: "0fc4773203e01ccd271e629b", peerSN: "65a419e0a1eda1c3850853fa556adee4",
	},
	{
		name: "TLS_AES_256_GCM_SHA384", suite: 0x1302,
		secret: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
		key:    "d6732c55efc102933ffe3af6922bdb7fe44d18f2b7307173758bfeb457a6f9bb", iv: "8ae6b315daa064c6dfa5f10a",
		sn:    "fc6f78156052e019518fb3ea0d77c796ca2da8796cc26b8e42c5b5395a72af1d",
		nonce: "8ae6b315daa166c5dba0f70d",
		ad:    "3fcafebabe0607002a", record: "799936beea392e94f73b56ad19e96f5ff607481e8abf5aa6895414e222eea46b4e2385ac65b6fc516ede",
		plain: "dtls13 aes-256-gcm vector", mask: "cdefbbfbc4863ce5602213c2290c989e",
		peerSecret: "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
		peerKey:    "7c523cc53469c11fd6ca9acb78a0bf2bbe34f7779dca7ab75eb6fd7d2dc0d667", peerIV: "52c85dfce33da09b62295ad7",
		peerSN: "9a7ed1d037e961ad1ee02fde1315f29ebfd2fc8f3c823726064b93f0e9964569",
	},
	{
		name: "TLS_CHACHA20_POLY1305_SHA256", suite: 0x1303,
		secret: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		key:    "fa36130205a96cbeb292e37361db797a5292833e60912c992462e04b0eba0ecd", iv: "6d3299305dd209fc865cf8f1",
		sn:    "534890654f2b1ca72683f148cdbae6a98ffeaaad7e23fc9e693486e2a92b6892",
		nonce: "6d3299305dd30bff8259fef6",
		ad:    "3fcafebabe06070030", record: "69f043b34d3e3b856ce115bab907b93c384fe7d6375a38b00d864a1562eedd91f386a79a681d216cd5ff74d73b419b97",
		plain: "dtls13 chacha20-poly1305 vector", mask: "2e70bc45d477904ca0053b5321f731ea",
		peerSecret: "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
		peerKey:    "764d73625579da13dbf400345a3a28f64e1fd7d755ec9b6e1f7ade12c2b7b735", peerIV: "0fc4773203e01ccd271e629b",
		peerSN: "93360cb9d6b073a87e187ca4398acb6adf02f76aa7f485b76e18e07eba60d867",
	},
}

// TestTrafficKeysDTLS13 derives DTLS 1.3's keys (RFC 9147 §5.9's
// "dtls13" prefix; "sn" for record number encryption, §4.2.3) and checks
// them against pion/dtls's vectors: key, iv and sn_key of both sides, the
// nonce, the mask, and the record opened into its DTLSInnerPlaintext (the
// content, then content type 23).
func TestTrafficKeysDTLS13(t *testing.T) {
	for _, v := range dtls13Vectors {
		t.Run(v.name, func(t *testing.T) {
			h := sha256.New
			if v.suite == 0x1302 {
				h = sha512.New384
			}
			for _, side := range []struct{ secret, key, iv, sn string }{{v.secret, v.key, v.iv, v.sn}, {v.peerSecret, v.peerKey, v.peerIV, v.peerSN}} {
				secret := unhex(t, side.secret)
				keyLen := len(side.key) / 2
				for _, c := range []struct{ label, want string }{{"key", side.key}, {"iv", side.iv}, {"sn", side.sn}} {
					if got := ScheduleDTLS13.ExpandLabel(h, secret, c.label, nil, len(c.want)/2); hex.EncodeToString(got) != c.want {
						t.Errorf("%q = %x, want %s", c.label, got, c.want)
					}
				}
				k, err := ScheduleDTLS13.TrafficKeys(v.suite, secret)
				if err != nil {
					t.Fatal(err)
				}
				if n := k.Nonce(0); hex.EncodeToString(n[:]) != side.iv {
					t.Errorf("iv %x, want %s", n, side.iv)
				}
				if keyLen != map[uint16]int{0x1301: 16, 0x1302: 32, 0x1303: 32}[v.suite] {
					t.Fatalf("vector's key of %d octets", keyLen)
				}
			}

			k, _ := ScheduleDTLS13.TrafficKeys(v.suite, unhex(t, v.secret))
			nonce := k.Nonce(0x0001020304050607)
			if hex.EncodeToString(nonce[:]) != v.nonce {
				t.Errorf("nonce %x, want %s", nonce, v.nonce)
			}
			record := unhex(t, v.record)
			if m := k.Mask(record); hex.EncodeToString(m[:]) != v.mask {
				t.Errorf("mask %x, want %s", m, v.mask)
			}
			plain, err := k.AEAD().Open(nil, nonce[:], record, unhex(t, v.ad))
			if err != nil || string(plain) != v.plain+"\x17" {
				t.Errorf("record opens to %q, %v", plain, err)
			}

			// A KeyUpdate (RFC 9147 §8) moves to the next secret, whose
			// sn_key is its own (§4.2.3): the mask changes too.
			next := k.Next()
			want, _ := ScheduleDTLS13.TrafficKeys(v.suite, ScheduleDTLS13.ExpandLabel(h, unhex(t, v.secret), "traffic upd", nil, h().Size()))
			if next.Mask(record) != want.Mask(record) || next.Mask(record) == k.Mask(record) ||
				next.Nonce(0) != want.Nonce(0) {
				t.Error("the key update's keys")
			}
		})
	}
}

// TestTrafficKeysTLSHasNoMask: TLS records have no numbers to mask, and
// asking for a mask is a programming error.
func TestTrafficKeysTLSHasNoMask(t *testing.T) {
	k, err := ScheduleTLS13.TrafficKeys(0x1303, secretFor(0x1303, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Mask of TLS keys did not panic")
		}
	}()
	k.Mask(make([]byte, 16))
}
