package capture

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
)

// TestWriteSecretsReadBack: a Decryption Secrets Block written with the
// packets reads back from our pcapng reader, and the packets with it.
func TestWriteSecretsReadBack(t *testing.T) {
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf)
	keyLog := []byte("CLIENT_RANDOM 0102 0304\n") // 23 bytes: padded to 24
	if err := w.WriteSecrets(keyLog); err != nil {
		t.Fatal(err)
	}
	pk := Packet{Data: []byte{1, 2, 3, 4, 5}, Link: 1, CI: gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 5, Length: 5}}
	if err := w.Write(pk); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := OpenReader("secrets.pcapng", io.NopCloser(&buf))
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := ReadAll(src)
	if err != nil || len(pkts) != 1 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	secrets := src.(SecretsSource).Secrets()
	if len(secrets) != 1 || secrets[0].SecretsType != SecretsTLSKeyLog || !bytes.Equal(secrets[0].Data, keyLog) {
		t.Errorf("secrets read back: %+v", secrets)
	}
}
