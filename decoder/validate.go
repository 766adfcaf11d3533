package decoder

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Chain validation: a chain judged as a client holding the store's roots
// would judge it, at the capture's time (the handshake's, never today's),
// with the name the client asked for (SNI) and the usage the side needs
// (serverAuth, clientAuth). crypto/x509 decides; the chain as sent is
// walked too, so that a failure is told by its cause: a missing
// intermediate from an unknown root, an expired intermediate from an
// expired leaf.

// The statuses of a validation (JSON validation.status).
const (
	StatusValid               = "valid"
	StatusMissingIntermediate = "missing_intermediate"
	StatusUntrustedRoot       = "untrusted_root"
	StatusExpired             = "expired"
	StatusNotYetValid         = "not_yet_valid"
	StatusNameMismatch        = "name_mismatch"
	StatusWrongUsage          = "wrong_usage"
	StatusBadSignature        = "bad_signature"
	StatusSelfSigned          = "self_signed"
	// StatusRevoked is set from a stapled OCSP response, not here.
	StatusRevoked = "revoked"
)

// CertStatuses is every status, for the schema and the tests.
var CertStatuses = []string{StatusValid, StatusMissingIntermediate, StatusUntrustedRoot, StatusExpired, StatusNotYetValid,
	StatusNameMismatch, StatusWrongUsage, StatusBadSignature, StatusSelfSigned, StatusRevoked}

// Bounds on what one chain may cost: certificates beyond maxValidated (or
// beyond maxValidatedBytes of DER) are not looked at.
const (
	maxValidated      = 16
	maxValidatedBytes = 256 << 10
)

// CertProblem is one thing wrong with a chain.
type CertProblem struct {
	Status string
	// Index is the certificate's place in the chain as sent; -1 for one
	// that was not sent (the missing issuer).
	Index   int
	Subject string
	// Name is the certificate's CN, else its subject, for words.
	Name string
	// Detail says it in words, after the certificate: "expired on …".
	Detail string
	// When is the date that matters (NotAfter of an expired certificate,
	// NotBefore of one not yet valid).
	When time.Time
}

// Validation is the judgement of one side's chain.
type Validation struct {
	// Status is the first problem's, or valid.
	Status string
	// Index and Subject: the certificate the status concerns.
	Index   int
	Subject string
	// Chain is the chain built, leaf first: the sent certificates that
	// link up, then the store's root when one was reached.
	Chain []string
	// Store names the trust store (TrustStore.String).
	Store string
	// Name is the name checked (the SNI); "" when the client sent none
	// and no name was checked (NameChecked false).
	Name        string
	NameChecked bool
	// Usage: serverAuth or clientAuth.
	Usage string
	// Error is crypto/x509's error, as it says it.
	Error string
	// judged is the time it was judged at, which crypto/x509 names in
	// the error of a certificate outside its validity.
	judged time.Time
	// Problems lists every problem found, the status's first.
	Problems []CertProblem
	// IssuerMissing: the issuer of the last certificate that links up
	// (Issuer, with the AIA caIssuers IssuerURLs that certificate names)
	// was not sent and is no root of the store. LeafIssuerMissing: that
	// certificate is the leaf, so the missing one is an intermediate.
	IssuerMissing     bool
	LeafIssuerMissing bool
	Issuer            string
	IssuerURLs        []string
	// NotValidated counts certificates past the bounds, not looked at.
	NotValidated int
	// Note says what the judgement rests on when crypto/x509 alone would
	// say otherwise (SHA-1 signatures).
	Note string

	top *x509.Certificate // the last certificate that links up
}

// Problem is the validation's problem of a status (nil if none).
func (v *Validation) Problem(status string) *CertProblem {
	if v == nil {
		return nil
	}
	for i := range v.Problems {
		if v.Problems[i].Status == status {
			return &v.Problems[i]
		}
	}
	return nil
}

// IssuedTop reports whether c is the missing issuer: it names the last
// linked certificate's issuer and its key signed it. A certificate sent
// on another connection is found so; it never makes this chain valid.
func (v *Validation) IssuedTop(c *Certificate) bool {
	if v == nil || v.top == nil || c == nil || c.x == nil || string(c.x.RawSubject) != string(v.top.RawIssuer) {
		return false
	}
	return c.x.CheckSignature(v.top.SignatureAlgorithm, v.top.RawTBSCertificate, v.top.Signature) == nil
}

// MissingIssuerKey is the raw subject of the missing issuer ("" when
// none is missing), for finding it among other connections' certificates.
func (v *Validation) MissingIssuerKey() string {
	if v == nil || !v.IssuerMissing || v.top == nil {
		return ""
	}
	return string(v.top.RawIssuer)
}

// SubjectKey is the certificate's raw subject ("" when it did not parse).
func (c *Certificate) SubjectKey() string {
	if c.x == nil {
		return ""
	}
	return string(c.x.RawSubject)
}

// Validator judges chains against one store, remembering its judgements
// by chain, name, usage and day: a server sends the same chain on every
// connection.
type Validator struct {
	store *TrustStore
	ready chan struct{} // closed once store is set
	cache *fifoCache[validationKey, *Validation]
}

type validationKey struct {
	chain [32]byte
	name  string
	usage x509.ExtKeyUsage
	// at: the day (Unix days), or the second when a certificate's
	// validity begins or ends that day.
	at int64
}

const validationCacheSize = 4096

// NewValidator judges against store.
func NewValidator(store *TrustStore) *Validator {
	v := &Validator{store: store, ready: make(chan struct{}), cache: newFIFOCache[validationKey, *Validation](validationCacheSize)}
	close(v.ready)
	return v
}

// NewValidatorLoading is a validator whose store load makes in the
// background (reading the system's roots takes tens of milliseconds,
// while the capture starts being read); the first use waits for it.
func NewValidatorLoading(load func() *TrustStore) *Validator {
	v := &Validator{ready: make(chan struct{}), cache: newFIFOCache[validationKey, *Validation](validationCacheSize)}
	go func() {
		v.store = load()
		close(v.ready)
	}()
	return v
}

// Store is the trust store the validator judges against.
func (v *Validator) Store() *TrustStore {
	<-v.ready
	return v.store
}

// Validate judges chain (as sent, leaf first) at time at, for name (the
// SNI; "" checks no name) and usage. It returns nil for an empty chain or
// a leaf that did not parse. The result is shared and must not be
// modified.
func (v *Validator) Validate(chain []*Certificate, name string, usage x509.ExtKeyUsage, at time.Time) *Validation {
	if v == nil || len(chain) == 0 || chain[0].x == nil {
		return nil
	}
	h := sha256.New()
	day := at.Unix() / 86400
	key := validationKey{name: name, usage: usage, at: day}
	for i, c := range chain {
		if i == maxValidated {
			break
		}
		h.Write([]byte(c.SHA256))
		// A certificate whose validity begins or ends this day: judged to
		// the second.
		if c.x != nil && (c.NotBefore.Unix()/86400 == day || c.NotAfter.Unix()/86400 == day) {
			key.at = at.Unix()
		}
	}
	h.Sum(key.chain[:0])
	if r, ok := v.cache.get(key); ok {
		return r.at(at)
	}
	r := v.validate(chain, name, usage, at)
	r.judged = at
	v.cache.add(key, r)
	return r
}

// at is r as judged at t: a validation shared by the connections of a
// day says each one's own time in crypto/x509's error ("current time ...
// is after ..."), never the first one's.
func (r *Validation) at(t time.Time) *Validation {
	was := "current time " + r.judged.Format(time.RFC3339) + " "
	if r.judged.Unix() == t.Unix() || !strings.Contains(r.Error, was) {
		return r
	}
	c := *r
	c.Error = strings.Replace(r.Error, was, "current time "+t.Format(time.RFC3339)+" ", 1)
	c.judged = t
	return &c
}

func usageName(u x509.ExtKeyUsage) string {
	if u == x509.ExtKeyUsageClientAuth {
		return "clientAuth"
	}
	return "serverAuth"
}

func subjectOf(x *x509.Certificate) string {
	s, _ := subjectAndIssuer(x.RawSubject, x.RawIssuer)
	return s
}

// nameOf is a certificate's CN, else its whole subject.
func nameOf(x *x509.Certificate) string {
	if x.Subject.CommonName != "" {
		return x.Subject.CommonName
	}
	return subjectOf(x)
}

func (v *Validator) validate(chain []*Certificate, name string, usage x509.ExtKeyUsage, at time.Time) *Validation {
	r := &Validation{Store: v.Store().String(), Name: name, NameChecked: name != "", Usage: usageName(usage)}
	// The certificates looked at, within the bounds.
	var sent []*x509.Certificate
	bytes := 0
	for i, c := range chain {
		if i == maxValidated || i > 0 && bytes+c.Length > maxValidatedBytes {
			r.NotValidated = len(chain) - i
			break
		}
		bytes += c.Length
		sent = append(sent, c.x) // nil when it did not parse
	}
	leaf := sent[0]
	inter := x509.NewCertPool()
	for _, x := range sent[1:] {
		if x != nil {
			inter.AddCert(x)
		}
	}
	opts := x509.VerifyOptions{Roots: v.Store().pool, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}}
	chains, err := leaf.Verify(opts)
	var usageErr error
	if ce := (x509.CertificateInvalidError{}); errors.As(err, &ce) && ce.Reason == x509.IncompatibleUsage {
		usageErr = err
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
		chains, err = leaf.Verify(opts)
	}
	var nameErr error
	if name != "" {
		nameErr = leaf.VerifyHostname(name)
	}
	if e := errors.Join(err, usageErr, nameErr); e != nil {
		r.Error = e.Error()
	}

	// The chain as sent: from the leaf, each certificate's issuer among
	// the others (by subject, then signature).
	path := []int{0}
	var badSig *CertProblem
	for cur := leaf; len(path) < len(sent); {
		if string(cur.RawSubject) == string(cur.RawIssuer) && cur.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil {
			break // self-signed: the top
		}
		next := -1
		for i, x := range sent {
			if x == nil || slices.Contains(path, i) || string(x.RawSubject) != string(cur.RawIssuer) {
				continue
			}
			if x.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil {
				next = i
				break
			}
			if badSig == nil {
				j := path[len(path)-1]
				badSig = &CertProblem{Status: StatusBadSignature, Index: j, Subject: subjectOf(cur), Name: nameOf(cur),
					Detail: fmt.Sprintf("does not verify with the key of its issuer %q, certificate %d of the chain", subjectOf(x), i)}
			}
		}
		if next < 0 {
			break
		}
		path = append(path, next)
		cur = sent[next]
	}
	top := sent[path[len(path)-1]]
	r.top = top
	for _, i := range path {
		r.Chain = append(r.Chain, subjectOf(sent[i]))
	}
	var problems []CertProblem
	// Time first, as crypto/x509 checks it: the leaf, then up the chain.
	timeOf := func(i int, x *x509.Certificate) {
		switch {
		case at.After(x.NotAfter):
			problems = append(problems, CertProblem{Status: StatusExpired, Index: i, Subject: subjectOf(x), Name: nameOf(x), When: x.NotAfter.UTC(),
				Detail: "expired on " + x.NotAfter.UTC().Format("2006-01-02 15:04:05 UTC")})
		case at.Before(x.NotBefore):
			problems = append(problems, CertProblem{Status: StatusNotYetValid, Index: i, Subject: subjectOf(x), Name: nameOf(x), When: x.NotBefore.UTC(),
				Detail: "is valid only from " + x.NotBefore.UTC().Format("2006-01-02 15:04:05 UTC")})
		}
	}
	for _, i := range path {
		timeOf(i, sent[i])
	}
	selfSigned := string(top.RawSubject) == string(top.RawIssuer) && top.CheckSignature(top.SignatureAlgorithm, top.RawTBSCertificate, top.Signature) == nil
	root := v.Store().issuerOf(top)
	switch {
	case badSig != nil:
		problems = append(problems, *badSig)
	case root != nil:
		if !selfSigned {
			r.Chain = append(r.Chain, subjectOf(root))
			timeOf(-1, root)
		}
	case selfSigned && len(path) == 1:
		problems = append(problems, CertProblem{Status: StatusSelfSigned, Index: 0, Subject: subjectOf(top), Name: nameOf(top),
			Detail: "is self-signed and no root of the store"})
	case selfSigned:
		problems = append(problems, CertProblem{Status: StatusUntrustedRoot, Index: path[len(path)-1], Subject: subjectOf(top), Name: nameOf(top),
			Detail: "ends the chain and is no root of the store"})
	default:
		// The issuer of the top was not sent and is no root of the store.
		_, issuer := subjectAndIssuer(top.RawSubject, top.RawIssuer)
		r.IssuerMissing, r.Issuer, r.IssuerURLs = true, issuer, top.IssuingCertificateURL
		r.LeafIssuerMissing = len(path) == 1
		p := CertProblem{Index: -1, Subject: issuer, Name: top.Issuer.CommonName}
		if p.Name == "" {
			p.Name = issuer
		}
		switch {
		case r.LeafIssuerMissing && (len(top.IssuingCertificateURL) > 0 || v.Store().CAFiles):
			// The leaf names where its issuer is (AIA), or the roots of a
			// private PKI were given: what is missing is in between.
			p.Status, p.Detail = StatusMissingIntermediate, "issued the leaf and was not sent"
		case r.LeafIssuerMissing:
			p.Status, p.Detail = StatusUntrustedRoot, "issued the leaf, was not sent and is no root of the store: a missing intermediate, or a root the store does not hold"
		default:
			p.Status, p.Detail = StatusUntrustedRoot, fmt.Sprintf("issued %q, the last certificate sent, and is no root of the store", subjectOf(top))
		}
		problems = append(problems, p)
	}
	if usageErr != nil || !usageAllows(leaf, usage) {
		problems = append(problems, CertProblem{Status: StatusWrongUsage, Index: 0, Subject: subjectOf(leaf), Name: nameOf(leaf),
			Detail: "is not for " + usageName(usage) + " (extended key usage " + ekuNames(leaf) + ")"})
	}
	if nameErr != nil {
		problems = append(problems, CertProblem{Status: StatusNameMismatch, Index: 0, Subject: subjectOf(leaf), Name: nameOf(leaf),
			Detail: fmt.Sprintf("does not cover %q", name)})
	}
	if len(problems) == 0 && err != nil {
		if strings.Contains(err.Error(), "insecure algorithm SHA1") {
			// crypto/x509 refuses SHA-1 outright; the chain's own
			// signatures were checked above with SHA-1 allowed.
			r.Note = "crypto/x509 refuses SHA-1 signatures, as current clients do; judged on the chain's signatures with SHA-1 allowed, as clients of the capture's time did"
		} else {
			problems = append(problems, CertProblem{Status: goStatus(err), Index: 0, Subject: subjectOf(leaf), Name: nameOf(leaf), Detail: "is refused by crypto/x509"})
		}
	}
	if len(chains) > 0 && len(problems) == 0 {
		r.Chain = r.Chain[:0]
		for _, x := range chains[0] {
			r.Chain = append(r.Chain, subjectOf(x))
		}
	}
	r.Problems = problems
	r.Status, r.Index, r.Subject = StatusValid, 0, subjectOf(leaf)
	if len(problems) > 0 {
		r.Status, r.Index, r.Subject = problems[0].Status, problems[0].Index, problems[0].Subject
	}
	return r
}

// usageAllows: no extended key usage means any (RFC 5280 §4.2.1.12).
func usageAllows(x *x509.Certificate, u x509.ExtKeyUsage) bool {
	if len(x.ExtKeyUsage) == 0 && len(x.UnknownExtKeyUsage) == 0 {
		return true
	}
	return slices.Contains(x.ExtKeyUsage, u) || slices.Contains(x.ExtKeyUsage, x509.ExtKeyUsageAny)
}

func ekuNames(x *x509.Certificate) string {
	var out []string
	for _, u := range x.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			out = append(out, "serverAuth")
		case x509.ExtKeyUsageClientAuth:
			out = append(out, "clientAuth")
		case x509.ExtKeyUsageCodeSigning:
			out = append(out, "codeSigning")
		case x509.ExtKeyUsageEmailProtection:
			out = append(out, "emailProtection")
		case x509.ExtKeyUsageTimeStamping:
			out = append(out, "timeStamping")
		case x509.ExtKeyUsageOCSPSigning:
			out = append(out, "OCSPSigning")
		default:
			out = append(out, fmt.Sprintf("#%d", u))
		}
	}
	for _, o := range x.UnknownExtKeyUsage {
		out = append(out, o.String())
	}
	return strings.Join(out, ", ")
}

// goStatus is the status of a crypto/x509 error the chain's walk did not
// explain (name constraints, path length, a CA not allowed to sign).
func goStatus(err error) string {
	var ce x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &he):
		return StatusNameMismatch
	case errors.As(err, &ce) && ce.Reason == x509.Expired:
		return StatusExpired
	case errors.As(err, &ce):
		return StatusWrongUsage
	case errors.As(err, &ua):
		return StatusUntrustedRoot
	}
	return StatusBadSignature
}
