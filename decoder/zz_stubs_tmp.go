package decoder

// Temporary stand-ins for the helpers' files (keylog.go, cipher13.go,
// cipher12.go), removed at their merge.

import (
	"errors"
	"io"
)

type KeyLog struct{ m map[string]*Secrets }

func NewKeyLog() *KeyLog { return &KeyLog{m: map[string]*Secrets{}} }

type Secrets struct {
	MasterSecret                     []byte
	ClientEarly                      []byte
	ClientHandshake, ServerHandshake []byte
	ClientTraffic0, ServerTraffic0   []byte
	Exporter, EarlyExporter          []byte
}
type BadLine struct {
	Source string
	Line   int
	Why    string
}

func (k *KeyLog) Add(source string, r io.Reader) (int, []BadLine, error) { return 0, nil, nil }
func (k *KeyLog) Lookup(clientRandom []byte) *Secrets                    { return k.m[string(clientRandom)] }
func (k *KeyLog) Len() int                                               { return len(k.m) }
func (k *KeyLog) Unused() int                                            { return 0 }

type KeyLogFile struct{}

func OpenKeyLogFile(path string, into *KeyLog) (*KeyLogFile, error) { return &KeyLogFile{}, nil }
func (f *KeyLogFile) Poll() (int, []BadLine, error)                 { return 0, nil, nil }

var ()

func (k *KeyLog) LinesFor(clientRandom []byte) []byte { return nil }
