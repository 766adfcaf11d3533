package decoder

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// decryptedHandshake runs a real crypto/tls handshake whose client writes
// its key log, and returns the streams and the key log.
func decryptedHandshake(t *testing.T, maxVersion uint16) ([]chunk, *KeyLog) {
	cert := testCert(t, "keys.test")
	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	roots.AddCert(leaf)
	var keylog bytes.Buffer
	client := &tls.Config{ServerName: "keys.test", RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}, MaxVersion: maxVersion, KeyLogWriter: &keylog}
	server := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MaxVersion: maxVersion}
	chunks, _, err := handshake(t, client, server)
	if err != nil {
		t.Fatal(err)
	}
	log := NewKeyLog()
	if _, bad, err := log.Add("go", &keylog); err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	return chunks, log
}

// TestDecryptGoTLS reads real TLS 1.3 and 1.2 handshakes with the client's
// key log: the certificate TLS 1.3 hides, the ALPN chosen in its
// EncryptedExtensions, the TLS 1.2 Finished checked, the alerts that close
// the connection; and with a key log whose secrets are wrong, nothing.
func TestDecryptGoTLS(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		chunks, log := decryptedHandshake(t, v)
		c := NewConn(true)
		c.SetKeys(NewLogKeys(log))
		feedAll(c, chunks)
		c.Closed(0, t0.Add(time.Hour))
		hs := c.Snapshot()
		d := hs.Decryption
		if d.Status != DecryptDecrypted || len(hs.ServerCertificates) != 1 || hs.ServerCertificates[0].CommonName != "keys.test" {
			t.Errorf("%s: %s (%s), %d certificates", VersionName(v), d.Status, d.Reason, len(hs.ServerCertificates))
		}
		alpn := ""
		if ee := hs.EncryptedExtensions; ee != nil {
			alpn = ee.ALPN
		} else if hs.ServerHello != nil {
			alpn = hs.ServerHello.ALPN
		}
		if alpn != "http/1.1" {
			t.Errorf("%s: ALPN %q", VersionName(v), alpn)
		}
		if v == tls.VersionTLS12 && hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} {
			t.Errorf("TLS 1.2: Finished %v", hs.Finished)
		}
		closes := 0
		for _, a := range hs.Alerts {
			if !a.Encrypted && a.Description == 0 {
				closes++
			}
		}
		if closes == 0 {
			t.Errorf("%s: no close_notify read (alerts %+v)", VersionName(v), hs.Alerts)
		}
		if st := c.State(); st.Phase != PhaseComplete {
			t.Errorf("%s: %v", VersionName(v), st.Phase)
		}

		// The same secrets, each with one bit flipped.
		bad := NewKeyLog()
		bad.Add("flipped", bytes.NewReader(flipSecrets(t, log, chunks)))
		w := NewConn(true)
		w.SetKeys(NewLogKeys(bad))
		feedAll(w, chunks)
		whs := w.Snapshot()
		if whs.Decryption.Status != DecryptWrongKeys || len(whs.ServerCertificates) != 0 && v == tls.VersionTLS13 {
			t.Errorf("%s, wrong secrets: %s, %d certificates", VersionName(v), whs.Decryption.Status, len(whs.ServerCertificates))
		}
	}
}

// flipSecrets is the key log of the handshake's client random with every
// secret's first bit flipped.
func flipSecrets(t *testing.T, log *KeyLog, chunks []chunk) []byte {
	random := chunks[0].data[11:43] // the ClientHello's random, in its first record
	lines := log.LinesFor(random)
	if lines == nil {
		t.Fatal("no key log lines for the client random")
	}
	out := bytes.Clone(lines)
	for i := 0; i < len(out); {
		j := bytes.IndexByte(out[i:], '\n')
		line := out[i : i+j]
		k := bytes.LastIndexByte(line, ' ') + 1
		if line[k] == '0' {
			line[k] = '8'
		} else {
			line[k] = '0'
		}
		i += j + 1
	}
	return out
}

// TestResyncAfterGap: a protected record missing from the capture (a
// gap) leaves the next one's sequence number unknown; the next numbers are
// tried against the tag, and reading goes on.
func TestResyncAfterGap(t *testing.T) {
	chunks, log := decryptedHandshake(t, tls.VersionTLS13)
	var client, server []byte
	for _, ch := range chunks {
		if ch.from == Client {
			client = append(client, ch.data...)
		} else {
			server = append(server, ch.data...)
		}
	}
	var recs [][]byte
	for b := server; len(b) >= 5; {
		n := 5 + (int(b[3])<<8 | int(b[4]))
		recs = append(recs, b[:n])
		b = b[n:]
	}
	if len(recs) < 4 {
		t.Fatalf("%d server records", len(recs))
	}
	c := NewConn(true)
	c.SetKeys(NewLogKeys(log))
	c.Feed(0, client, t0)
	// The server's records, the one before its close_notify (the echo)
	// missing from the capture.
	last := len(recs) - 1
	for i, r := range recs {
		at := t0.Add(time.Duration(i+1) * time.Millisecond)
		if i == last-1 {
			c.Gap(1, len(r), at)
			continue
		}
		c.Feed(1, r, at)
	}
	hs := c.Snapshot()
	if hs.Decryption.Resynced != 1 || !bytes.Contains([]byte(hs.Decryption.Reason), []byte("found again")) {
		t.Errorf("resynced %d: %s", hs.Decryption.Resynced, hs.Decryption.Reason)
	}
	found := false
	for _, a := range hs.Alerts {
		found = found || a.From == Server && !a.Encrypted && a.Description == 0
	}
	if !found {
		t.Errorf("the server's close_notify after the gap was not read: %+v", hs.Alerts)
	}
}

// TestKeysThatComeLate: live, the client writes its key log as it goes,
// and a line may come after its epoch began. The records counted without
// keys keep the sequence numbers right, so the next ones open.
func TestKeysThatComeLate(t *testing.T) {
	chunks, full := decryptedHandshake(t, tls.VersionTLS13)
	random := chunks[0].data[11:43]
	log := NewKeyLog()
	c := NewConn(true)
	c.SetKeys(NewLogKeys(log))
	// Up to and including the server's flight, with no key yet.
	i := 0
	for ; i < len(chunks) && !(chunks[i].from == Client && i > 0); i++ {
		c.Feed(Dir(chunks[i].from), chunks[i].data, t0.Add(time.Duration(i)*time.Millisecond))
	}
	log.Add("late", bytes.NewReader(full.LinesFor(random)))
	for ; i < len(chunks); i++ {
		c.Feed(Dir(chunks[i].from), chunks[i].data, t0.Add(time.Duration(i)*time.Millisecond))
	}
	d := c.Snapshot().Decryption
	if d.Status != DecryptPartial || d.Opened[Client] == 0 || d.Unopened[Server] == 0 {
		t.Errorf("%s (%s): opened %v, unopened %v; want the client's records after the keys came opened", d.Status, d.Reason, d.Opened, d.Unopened)
	}
}
