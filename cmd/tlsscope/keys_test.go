package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestWriteFailedCarriesKeys: --write-failed writes the keys of the
// connections it writes, and only theirs, in a Decryption Secrets Block,
// so that Wireshark opens the attachment decrypted.
func TestWriteFailedCarriesKeys(t *testing.T) {
	out := filepath.Join(t.TempDir(), "failed.pcapng")
	// Two files: the failed connection's, and a complete one whose keys
	// are in a second key log and must not be written.
	_, errOut, code := runCLI("--write-failed", out, "--keylog", "../../testdata/keys-tls13-client-rejects-cert.keys",
		"--keylog", "../../testdata/keys-tls13-aes128.keys",
		"../../testdata/keys-tls13-client-rejects-cert.pcap", "../../testdata/keys-tls13-aes128.pcap")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	src, err := capture.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	secrets := src.(capture.SecretsSource).Secrets()
	src.Close()
	if err != nil || len(pkts) == 0 || len(secrets) != 1 {
		t.Fatalf("%d packets, %d secrets blocks, %v", len(pkts), len(secrets), err)
	}
	want, err := os.ReadFile("../../testdata/keys-tls13-client-rejects-cert.keys")
	if err != nil {
		t.Fatal(err)
	}
	random := strings.Fields(strings.SplitN(string(want), "\n", 2)[0])[1]
	for _, line := range strings.Split(strings.TrimSpace(string(secrets[0].Data)), "\n") {
		if f := strings.Fields(line); len(f) != 3 || f[1] != random || !bytes.Contains(want, []byte(f[2])) {
			t.Errorf("a secret that is not the failed connection's: %q", line)
		}
	}
	// tshark, with no key log given, decrypts the attachment: it sees the
	// TLS 1.3 Certificate.
	if _, err := exec.LookPath("tshark"); err != nil {
		testenv.TShark(t) // skips, or fails under CI=true
	}
	shown, err := exec.Command("tshark", "-n", "-r", out, "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "tls.handshake.type").Output()
	if err != nil || !strings.Contains(string(shown), "11") {
		t.Errorf("tshark does not decrypt the written file: %q %v", shown, err)
	}
}

// TestKeyLogFollowed: live, a key log the client appends to while we
// capture is read again, and what it adds is in the key log.
func TestKeyLogFollowed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := openKeyLogs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if k.log.Len() != 0 {
		t.Fatalf("%d entries in an empty key log", k.log.Len())
	}
	line, err := os.ReadFile("../../testdata/keys-tls12-gcm.keys")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line)
	f.Close()
	k.poll() // what follow does once a second
	if k.log.Len() != 1 || k.lines != 1 {
		t.Errorf("after the client appended a line: %d entries, %d lines", k.log.Len(), k.lines)
	}
}
