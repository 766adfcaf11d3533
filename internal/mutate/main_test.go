package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListApplies: every mutation of mutations.txt still applies, so that
// `make mutate` measures what it says. When the code moves, this fails
// with the mutations to re-target.
func TestListApplies(t *testing.T) {
	ms, err := readList("mutations.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 24 {
		t.Errorf("%d mutations, want at least 24", len(ms))
	}
	for _, b := range unapplicable("../..", ms) {
		t.Errorf("re-target in mutations.txt: %s", b)
	}
}

// TestListRotLoudly: a snippet that occurs twice or not at all is said,
// with its line, and a malformed list is refused.
func TestListRotLoudly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n\nvar a = 1 == 1\nvar b = 1 == 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# comment\n== twice\nfile: x.go\n-1 == 1\n+1 != 1\n\n== gone\nfile: x.go\n-var c\n\n== once\nfile: x.go\n-var a = 1 == 1\n+var a = 1 != 1\n"), 0o644)
	ms, err := readList(list)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d mutations, %v", len(ms), err)
	}
	bad := unapplicable(dir, ms)
	if len(bad) != 2 || !strings.Contains(bad[0], "twice (line 2): its snippet occurs 2 times") || !strings.Contains(bad[1], "gone (line 7): its snippet occurs 0 times") {
		t.Errorf("%q", bad)
	}
	for _, text := range []string{"== a\nfile: x.go\n", "== a\nfile: x.go\n-x\n+x\n", "stray\n", "== a\nfile: x.go\n-x\n== a\nfile: x.go\n-y\n", "== a\nfile: x.go\nwhat\n"} {
		os.WriteFile(list, []byte(text), 0o644)
		if _, err := readList(list); err == nil {
			t.Errorf("%q accepted", text)
		}
	}
}

// TestOperatorMutants: each comparison, && and || and ! of a function
// body is one mutant, at its offset.
func TestOperatorMutants(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nconst k = 1 < 2\n\nfunc f(a, b int, c bool) bool {\n\treturn a <= b && !c || a != b\n}\n"
	os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644)
	ms, err := operatorMutants(dir, "x.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, src[m.off:m.off+len(m.Old)]+"→"+m.New)
	}
	if strings.Join(got, " ") != "||→&& &&→|| <=→> !→ !=→==" {
		t.Errorf("%q", got)
	}
}
