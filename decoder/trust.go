package decoder

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// TrustStore is the set of roots a chain is judged against, as a client
// holding them would judge it. Name, Roots and Hash say which it was, so
// that a report says against what it judged.
type TrustStore struct {
	// Name: "system", "mozilla" or "none", with " + N CA files" when
	// --ca-file added roots.
	Name string
	// Source says where the roots came from (a file, the module version).
	Source string
	// Roots counts the roots; Hash is the first 8 hex digits of the
	// SHA-256 over the roots' SHA-256 sums, sorted.
	Roots int
	Hash  string
	// CAFiles: roots were added by --ca-file (a private PKI's root).
	CAFiles bool

	pool      *x509.CertPool
	bySubject map[string][]*x509.Certificate
	sums      map[[32]byte]bool
}

// Trust store kinds (--trust).
const (
	TrustSystem  = "system"
	TrustMozilla = "mozilla"
	TrustNone    = "none"
)

// Where Go looks for the system's roots on Linux and the BSDs
// (crypto/x509/root_linux.go, root_unix.go): the first file that exists,
// then every file of the directories.
var (
	systemCertFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
		"/etc/ssl/cert.pem",                                 // Alpine Linux
	}
	systemCertDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// CAFiles are the roots of the --ca-file files, read once at startup
// (so that a file that is missing or holds no certificate is reported
// before any capture is read) and added to whichever store is built.
type CAFiles struct {
	files int
	roots []*x509.Certificate
}

// ReadCAFiles reads and parses the PEM files --ca-file names; a file
// that cannot be read, or holds no certificate that parses, is an error.
func ReadCAFiles(files []string) (*CAFiles, error) {
	ca := &CAFiles{files: len(files)}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		n := 0
		for len(b) > 0 {
			var block *pem.Block
			if block, b = pem.Decode(b); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				continue
			}
			ca.roots = append(ca.roots, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no PEM certificate in it", f)
		}
	}
	return ca, nil
}

// LoadTrustStore builds the store --trust asks for, with the roots of
// ca added (nil: none). system is the roots Go finds on this system
// (SSL_CERT_FILE and SSL_CERT_DIR respected), else Mozilla's list as
// golang.org/x/crypto/x509roots/fallback embeds it; the fallback
// package's init (which would replace Go's own fallback for the whole
// program) is not used: its bundle is read here. It reads no --ca-file.
func LoadTrustStore(kind string, ca *CAFiles) (*TrustStore, error) {
	s := &TrustStore{pool: x509.NewCertPool(), bySubject: map[string][]*x509.Certificate{}, sums: map[[32]byte]bool{}}
	switch kind {
	case TrustSystem:
		if src, n := s.addSystem(); n > 0 {
			s.Name, s.Source = TrustSystem, src
			break
		}
		s.addMozilla()
		s.Name, s.Source = TrustMozilla, "no system roots found; "+s.Source
	case TrustMozilla:
		s.addMozilla()
		s.Name = TrustMozilla
	case TrustNone:
		s.Name, s.Source = TrustNone, "no roots"
	default:
		return nil, fmt.Errorf("unknown trust store %q (system, mozilla or none)", kind)
	}
	if ca != nil && ca.files > 0 {
		for _, c := range ca.roots {
			s.add(c, nil)
		}
		s.CAFiles = true
		s.Name += fmt.Sprintf(" + %d CA file", ca.files)
		if ca.files > 1 {
			s.Name += "s"
		}
	}
	sums := make([][32]byte, 0, len(s.sums))
	for k := range s.sums {
		sums = append(sums, k)
	}
	slices.SortFunc(sums, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for _, k := range sums {
		h.Write(k[:])
	}
	s.Roots, s.Hash = len(sums), hex.EncodeToString(h.Sum(nil))[:8]
	return s, nil
}

// String names the store for a summary: "system (146 roots, 3fa2c01b)".
func (s *TrustStore) String() string {
	if s == nil {
		return ""
	}
	roots := "roots"
	if s.Roots == 1 {
		roots = "root"
	}
	return fmt.Sprintf("%s (%d %s, %s)", s.Name, s.Roots, roots, s.Hash)
}

func (s *TrustStore) add(c *x509.Certificate, constraint func([]*x509.Certificate) error) bool {
	sum := sha256.Sum256(c.Raw)
	if s.sums[sum] {
		return false
	}
	s.sums[sum] = true
	if constraint != nil {
		s.pool.AddCertWithConstraint(c, constraint)
	} else {
		s.pool.AddCert(c)
	}
	s.bySubject[string(c.RawSubject)] = append(s.bySubject[string(c.RawSubject)], c)
	return true
}

// addPEM adds every certificate of a PEM file; it returns how many it read.
func (s *TrustStore) addPEM(b []byte) int {
	n := 0
	for len(b) > 0 {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		if s.sums[sha256.Sum256(block.Bytes)] {
			n++ // held already (a system's directory repeats its bundle)
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		s.add(c, nil)
		n++
	}
	return n
}

// addSystem reads the roots where Go reads them on Linux and the BSDs.
// Elsewhere (macOS, Windows: the platform verifies, and its roots cannot
// be listed) it finds none, and the Mozilla list is used.
func (s *TrustStore) addSystem() (string, int) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return "", 0
	}
	var from []string
	files := systemCertFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	n := 0
	// Each file once: the directories hold links to the same files, and
	// Debian's holds the bundle too.
	var read []os.FileInfo
	readOnce := func(f string) ([]byte, bool) {
		fi, err := os.Stat(f)
		if err != nil || !fi.Mode().IsRegular() || slices.ContainsFunc(read, func(r os.FileInfo) bool { return os.SameFile(r, fi) }) {
			return nil, false
		}
		read = append(read, fi)
		b, err := os.ReadFile(f)
		return b, err == nil
	}
	for _, f := range files {
		b, ok := readOnce(f)
		if !ok {
			continue
		}
		n += s.addPEM(b)
		from = append(from, f)
		break
	}
	dirs := systemCertDirs
	if d, ok := os.LookupEnv("SSL_CERT_DIR"); ok {
		dirs = filepath.SplitList(d)
	}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		m := 0
		for _, e := range entries {
			if e.Type()&fs.ModeType&^fs.ModeSymlink != 0 {
				continue
			}
			b, ok := readOnce(filepath.Join(d, e.Name()))
			if !ok {
				continue
			}
			m += s.addPEM(b)
		}
		if m > 0 {
			n += m
			from = append(from, d)
		}
	}
	return strings.Join(from, ", "), n
}

// addMozilla adds the roots of Mozilla's list embedded by
// golang.org/x/crypto/x509roots/fallback, with their constraints (a
// distrust date for certificates issued after it).
func (s *TrustStore) addMozilla() {
	n := 0
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			continue
		}
		s.add(c, r.Constraint)
		n++
	}
	s.Source = fmt.Sprintf("Mozilla's list of %d roots (golang.org/x/crypto/x509roots/fallback)", n)
}

// issuerOf finds a root of the store that issued c (its subject and key).
func (s *TrustStore) issuerOf(c *x509.Certificate) *x509.Certificate {
	for _, r := range s.bySubject[string(c.RawIssuer)] {
		if r.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
			return r
		}
	}
	return nil
}
