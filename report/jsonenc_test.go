package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"testing"
)

// jsonTestStrings fill records: HTML, controls, quotes, invalid
// UTF-8, the line separators encoding/json escapes, plain text.
var jsonTestStrings = []string{"", "plain", `a"b\c`, "<script>&amp;</script>", "tab\tnl\nbs\bff\fcr\r\x00\x1f\x7f",
	"bad \xff\xfe utf-8 \xe2\x82", "sep \u2028 par \u2029 é 世界 \U0001F600", "bidi \u202e here"}

var jsonTestFloats = []float64{0, 1, -1, 0.5, 123.456, 16000, 1e-7, 1.5e-9, 1e21, 3.4e25, -2e-8, 999999999999999.9, math.SmallestNonzeroFloat64}

// fillJSON sets every exported field of v, at random: zero, empty (a
// non-nil empty slice) or a value, so that a field jsonRecord forgets or
// writes differently from encoding/json shows.
func fillJSON(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				fillJSON(r, v.Field(i), depth)
			}
		}
	case reflect.Pointer:
		if r.Intn(4) == 0 || depth > 4 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fillJSON(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch r.Intn(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.Intn(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := 0; i < n; i++ {
				fillJSON(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillJSON(r, v.Index(i), depth)
		}
	case reflect.String:
		v.SetString(jsonTestStrings[r.Intn(len(jsonTestStrings))])
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt([]int64{0, 1, -7, 443, 1 << 20}[r.Intn(5)])
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		v.SetUint([]uint64{0, 1, 443, 1 << 16}[r.Intn(4)] & (1<<v.Type().Bits() - 1))
	case reflect.Float64:
		v.SetFloat(jsonTestFloats[r.Intn(len(jsonTestFloats))])
	}
}

// TestJSONRecordMatchesEncodingJSON: the hand-written record is
// encoding/json's bytes for records with every field set, unset or
// empty in turn.
func TestJSONRecordMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		var c Connection
		if i > 0 {
			fillJSON(r, reflect.ValueOf(&c).Elem(), 0)
		}
		c.TCP.present = i%3 != 0
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := jsonRecord(nil, &c)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d differs from encoding/json:\n%s", i, firstDiff(string(want), string(got)))
		}
	}
}

// TestJSONWriterNotFinite: a value JSON cannot say is encoding/json's
// error, not a line.
func TestJSONWriterNotFinite(t *testing.T) {
	for _, c := range []*Connection{
		{DurationMS: math.NaN()},
		{Stall: &Stall{SilentMS: math.Inf(1)}},
		{Messages: []Message{{TMS: math.Inf(-1)}}},
	} {
		var out bytes.Buffer
		err := NewJSONWriter(&out).Write(c)
		if _, ok := err.(*json.UnsupportedValueError); !ok {
			t.Errorf("error %v (%T), want encoding/json's UnsupportedValueError", err, err)
		}
		if out.Len() != 0 {
			t.Errorf("wrote %q", out.String())
		}
	}
}
