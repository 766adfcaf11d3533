package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ecsField is one line of ecs_fields.tsv.
type ecsField struct {
	typ, level, version string
	array               bool
}

func ecsFields(t *testing.T) map[string]ecsField {
	t.Helper()
	f, err := os.Open("ecs_fields.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]ecsField{}
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("ecs_fields.tsv: %d columns: %q", len(cols), line)
		}
		if _, dup := out[cols[0]]; dup {
			t.Fatalf("ecs_fields.tsv: %s twice", cols[0])
		}
		if want := "custom"; strings.HasPrefix(cols[0], "tlsscope.") != (cols[2] == want) {
			t.Errorf("ecs_fields.tsv: %s is level %s: tlsscope.* and only they are custom", cols[0], cols[2])
		}
		out[cols[0]] = ecsField{typ: cols[1], level: cols[2], version: cols[3], array: cols[4] == "array"}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func renderECS(t *testing.T, conns []*Connection, file string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := newECSWriter(&b, Options{Inputs: []string{file}})
	for _, c := range conns {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// flattenECS walks a document into dotted keys. Arrays of objects are
// the nested fields: each key is "parent" (the array) and "parent.child".
func flattenECS(prefix string, v any, out map[string][]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flattenECS(join(prefix, k), e, out)
		}
	case []any:
		if len(x) > 0 {
			if _, ok := x[0].(map[string]any); ok {
				out[prefix] = append(out[prefix], x)
				for _, e := range x {
					flattenECS(prefix, e, out)
				}
				return
			}
		}
		out[prefix] = append(out[prefix], x)
	default:
		out[prefix] = append(out[prefix], x)
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// ecsValueOK checks one scalar against its ECS type.
func ecsValueOK(typ string, v any) bool {
	switch typ {
	case "keyword":
		_, ok := v.(string)
		return ok
	case "ip":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := netip.ParseAddr(s)
		return err == nil
	case "date":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "long":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case "double", "float":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Float64()
		return err == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

// TestECSFields renders every capture as ECS and checks every field of
// every document against ecs_fields.tsv: listed, and of its type.
func TestECSFields(t *testing.T) {
	fields := ecsFields(t)
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	netlab, _ := filepath.Glob(filepath.Join(testdata, "netlab", "*.pcap"))
	generated := len(files) // each has a connection
	files = append(files, netlab...)
	if generated == 0 {
		t.Fatal("no captures in testdata")
	}
	seen := map[string]bool{}
	docs := 0
	for _, f := range files {
		out := renderECS(t, connections(t, f), filepath.Base(f))
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			if len(line) == 0 {
				continue // a capture without connections
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("%s: %v\n%s", f, err, line)
			}
			docs++
			flat := map[string][]any{}
			flattenECS("", doc, flat)
			for key, vals := range flat {
				seen[key] = true
				fd, ok := fields[key]
				if !ok {
					t.Errorf("%s: %s is not in ecs_fields.tsv", filepath.Base(f), key)
					continue
				}
				for _, v := range vals {
					checkECSValue(t, filepath.Base(f), key, fd, v)
				}
			}
			for _, k := range []string{"@timestamp", "ecs.version", "event.kind", "event.category", "event.type", "event.outcome", "network.transport", "tlsscope.stream", "tlsscope.outcome"} {
				if _, ok := flat[k]; !ok {
					t.Errorf("%s: no %s in %s", filepath.Base(f), k, line)
				}
			}
		}
	}
	if docs < generated {
		t.Errorf("%d documents from %d captures", docs, len(files))
	}
	// Fields the captures never exercise are reported, not failed: the
	// CommunityID stub gives none, and no capture has every shape.
	var unseen []string
	for k := range fields {
		if !seen[k] {
			unseen = append(unseen, k)
		}
	}
	t.Logf("%d ECS documents from %d captures; fields not seen: %v", docs, len(files), unseen)
}

func checkECSValue(t *testing.T, file, key string, fd ecsField, v any) {
	t.Helper()
	if fd.typ == "nested" {
		if _, ok := v.([]any); !ok {
			t.Errorf("%s: %s is nested, not an array: %v", file, key, v)
		}
		return
	}
	if arr, ok := v.([]any); ok {
		if !fd.array {
			t.Errorf("%s: %s is an array, and ECS does not normalize it as one: %v", file, key, v)
			return
		}
		for _, e := range arr {
			if !ecsValueOK(fd.typ, e) {
				t.Errorf("%s: %s: %v (%T) is not a %s", file, key, e, e, fd.typ)
			}
		}
		return
	}
	if fd.array {
		t.Errorf("%s: %s must be an array (ECS normalize: array): %v", file, key, v)
		return
	}
	if !ecsValueOK(fd.typ, v) {
		t.Errorf("%s: %s: %v (%T) is not a %s", file, key, v, v, fd.typ)
	}
}

// TestECSTemplate checks that the index template maps every field of
// ecs_fields.tsv, with its type, and nothing else.
func TestECSTemplate(t *testing.T) {
	fields := ecsFields(t)
	b, err := os.ReadFile("ecs-template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	if len(tpl.IndexPatterns) == 0 || len(tpl.Template.Mappings.Properties) == 0 {
		t.Fatal("ecs-template.json: no index_patterns or no template.mappings.properties")
	}
	mapped := map[string]string{}
	var walk func(prefix string, props map[string]json.RawMessage)
	walk = func(prefix string, props map[string]json.RawMessage) {
		for name, raw := range props {
			var m struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s: %v", join(prefix, name), err)
			}
			key := join(prefix, name)
			if m.Type != "" {
				mapped[key] = m.Type
			}
			if m.Properties != nil {
				walk(key, m.Properties)
			}
		}
	}
	walk("", tpl.Template.Mappings.Properties)
	for name, fd := range fields {
		if got, ok := mapped[name]; !ok {
			t.Errorf("ecs-template.json does not map %s (%s)", name, fd.typ)
		} else if got != fd.typ {
			t.Errorf("ecs-template.json maps %s as %s, ecs_fields.tsv says %s", name, got, fd.typ)
		}
	}
	for name, typ := range mapped {
		if _, ok := fields[name]; !ok {
			t.Errorf("ecs-template.json maps %s (%s), not in ecs_fields.tsv", name, typ)
		}
	}
}

// TestECSGolden compares the ECS documents of two captures (one with no
// keys, one decrypted with both sides' certificates) with the reviewed
// testdata/golden/NAME.ecs (rewritten with -update).
func TestECSGolden(t *testing.T) {
	for _, name := range []string{"tls13-full.pcap", "keys-tls13-mtls.pcap"} {
		got := renderECS(t, connections(t, filepath.Join(testdata, name)), name)
		checkGolden(t, filepath.Join(testdata, "golden", name+".ecs"), got)
	}
}

func TestDNValues(t *testing.T) {
	cn, org := dnValues(`CN=a\, b,O=Example\, Inc.+OU=x,O=Second,C=US`)
	if strings.Join(cn, "|") != "a, b" || strings.Join(org, "|") != "Example, Inc.|Second" {
		t.Errorf("cn %q org %q", cn, org)
	}
}
