// Command mutate measures how well the tests pin tlsscope's verdicts: it
// applies deliberate mutations to the code one at a time and runs the
// tests of the packages the mutated file reaches; a mutation the tests
// do not notice "survived". The working tree is never written: each
// mutant is a copy of one file in a temporary directory, given to the
// go command with -overlay.
//
//	go run ./internal/mutate                 # the targeted list, mutations.txt
//	go run ./internal/mutate -ops            # every comparison and condition of the verdict files
//	go run ./internal/mutate -run 'quic-'    # the list's mutations whose name matches
//
// The list (mutations.txt) names each mutation's file, its original
// snippet and its replacement. A snippet that no longer occurs exactly
// once in its file stops the tool before anything runs: the list must be
// re-targeted when the code moves, never silently skip.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Mutation is one deliberate change of the code.
type Mutation struct {
	Name string
	File string // relative to the module root
	Why  string
	Old  string // occurs exactly once in File
	New  string
	Pkgs []string // packages to test; empty: those the file reaches
	Line int      // of its "==" line in the list
	// off is the byte offset of an operator mutant (Old at off), -1 for
	// the list's snippets, which are found by content.
	off int
}

func main() {
	list := flag.String("list", "internal/mutate/mutations.txt", "the mutation list")
	ops := flag.Bool("ops", false, "run the operator pass (every comparison, && and || and ! of -opfiles, one at a time) instead of the list")
	opFiles := flag.String("opfiles", "flows/verdict.go,flows/quicverdict.go", "files of the operator pass")
	run := flag.String("run", "", "only the mutations whose name matches this regular expression")
	scope := flag.String("scope", "./decoder/... ./flows/... ./report/... ./cmd/tlsscope", "packages whose tests may be run (those a mutated file reaches)")
	timeout := flag.Duration("timeout", 10*time.Minute, "go test's -timeout per package")
	verbose := flag.Bool("v", false, "print the failing tests of killed mutations")
	testRun := flag.String("testrun", "", "go test -run for every package (to try a new test against a mutation quickly)")
	pkgFlag := flag.String("pkgs", "", "packages to test for every mutation, instead of those the mutated file reaches")
	sample := flag.Int("sample", 1, "run every Nth mutation only (a quicker, partial score of a long pass)")
	check := flag.Bool("check", false, "only check that every snippet of the list occurs exactly once")
	flag.Parse()

	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	var ms []Mutation
	if *ops {
		for _, f := range strings.Split(*opFiles, ",") {
			m, err := operatorMutants(root, strings.TrimSpace(f))
			if err != nil {
				fatal(err)
			}
			ms = append(ms, m...)
		}
	} else {
		path := *list
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		ms, err = readList(path)
		if err != nil {
			fatal(err)
		}
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fatal(err)
		}
		ms = slices.DeleteFunc(ms, func(m Mutation) bool { return !re.MatchString(m.Name) })
	}
	if *sample > 1 {
		var some []Mutation
		for i := 0; i < len(ms); i += *sample {
			some = append(some, ms[i])
		}
		fmt.Printf("mutate: every %dth of %d mutations: %d\n", *sample, len(ms), len(some))
		ms = some
	}
	// Every snippet is checked before anything runs: a list that rotted
	// fails as a whole, loudly.
	if bad := unapplicable(root, ms); len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "mutate: %d of %d mutations no longer apply; re-target them in %s:\n", len(bad), len(ms), *list)
		for _, b := range bad {
			fmt.Fprintln(os.Stderr, "  "+b)
		}
		os.Exit(2)
	}
	if *check {
		fmt.Printf("mutate: all %d mutations apply\n", len(ms))
		return
	}
	if len(ms) == 0 {
		fatal(errors.New("no mutation selected"))
	}
	deps, err := testDeps(root, strings.Fields(*scope))
	if err != nil {
		fatal(err)
	}
	tmp, err := os.MkdirTemp("", "tlsscope-mutate-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	// An interrupt stops the running go test (CommandContext kills it)
	// and removes the mutants.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	killed, survived, invalid := 0, 0, 0
	var survivors, invalids []string
	start := time.Now()
	for i, m := range ms {
		pkgs := m.Pkgs
		if *pkgFlag != "" {
			pkgs = strings.Fields(*pkgFlag)
		}
		if len(pkgs) == 0 {
			pkgs = deps.reaching(filepath.Dir(m.File))
		}
		if len(pkgs) == 0 {
			fatal(fmt.Errorf("%s: no package in -scope with tests reaches %s", m.Name, m.File))
		}
		t0 := time.Now()
		res, detail, err := try(ctx, root, tmp, m, pkgs, *timeout, *testRun)
		if ctx.Err() != nil {
			os.RemoveAll(tmp)
			fmt.Fprintln(os.Stderr, "mutate: interrupted")
			os.Exit(130)
		}
		if err != nil {
			os.RemoveAll(tmp)
			fatal(err)
		}
		fmt.Printf("[%*d/%d] %-8s %-44s %s (%s)\n", len(fmt.Sprint(len(ms))), i+1, len(ms), res, m.Name, m.File, time.Since(t0).Round(time.Second))
		switch res {
		case "killed":
			killed++
			if *verbose && detail != "" {
				fmt.Println("\t" + strings.ReplaceAll(detail, "\n", "\n\t"))
			}
		case "SURVIVED":
			survived++
			survivors = append(survivors, m.Name+": "+m.Why)
		default:
			invalid++
			invalids = append(invalids, m.Name+": "+detail)
		}
	}
	fmt.Printf("\nmutation score: %d of %d killed (%.0f%%), %d survived", killed, killed+survived, 100*float64(killed)/float64(max(1, killed+survived)), survived)
	if invalid > 0 {
		fmt.Printf(", %d did not compile", invalid)
	}
	fmt.Printf(" [%s]\n", time.Since(start).Round(time.Second))
	for _, s := range survivors {
		fmt.Println("  survived: " + s)
	}
	for _, s := range invalids {
		fmt.Println("  did not compile: " + s)
	}
	if invalid > 0 && !*ops {
		os.RemoveAll(tmp) // os.Exit skips the deferred removal
		os.Exit(2)        // a listed mutation must compile
	}
}

// unapplicable says which of the list's mutations no longer apply: their
// snippet does not occur exactly once in their file.
func unapplicable(root string, ms []Mutation) []string {
	var bad []string
	for _, m := range ms {
		if m.off >= 0 {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, m.File))
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s (line %d): %v", m.Name, m.Line, err))
			continue
		}
		if n := bytes.Count(src, []byte(m.Old)); n != 1 {
			bad = append(bad, fmt.Sprintf("%s (line %d): its snippet occurs %d times in %s, not once:\n\t%s", m.Name, m.Line, n, m.File, strings.ReplaceAll(m.Old, "\n", "\n\t")))
		}
	}
	return bad
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}

// moduleRoot is the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// readList parses the mutation list:
//
//	== name
//	file: flows/verdict.go
//	why: what the mutation breaks
//	pkgs: ./flows ./report        (optional)
//	-original line
//	+replacement line
//
// The "-" lines, joined by newlines, are the original snippet (exactly as
// in the file, tabs included; a one-line snippet may leave out the
// indentation); the "+" lines the replacement (none: deleted). Lines
// starting with # and blank lines between mutations are ignored.
func readList(path string) ([]Mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []Mutation
	var cur *Mutation
	var old, new []string
	names := map[string]int{}
	flush := func() error {
		if cur == nil {
			return nil
		}
		if cur.File == "" || len(old) == 0 {
			return fmt.Errorf("%s:%d: mutation %s needs a file: line and - lines", path, cur.Line, cur.Name)
		}
		cur.Old, cur.New, cur.off = strings.Join(old, "\n"), strings.Join(new, "\n"), -1
		if cur.Old == cur.New {
			return fmt.Errorf("%s:%d: mutation %s changes nothing", path, cur.Line, cur.Name)
		}
		ms = append(ms, *cur)
		cur, old, new = nil, nil, nil
		return nil
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			if err := flush(); err != nil {
				return nil, err
			}
			name := strings.TrimSpace(line[3:])
			if at, dup := names[name]; dup {
				return nil, fmt.Errorf("%s:%d: mutation %s also at line %d", path, n, name, at)
			}
			names[name] = n
			cur = &Mutation{Name: name, Line: n}
		case cur == nil && (strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#")):
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: outside a mutation (start one with \"== name\")", path, n)
		case strings.HasPrefix(line, "-"):
			old = append(old, line[1:])
		case strings.HasPrefix(line, "+"):
			new = append(new, line[1:])
		case strings.HasPrefix(line, "file:"):
			cur.File = strings.TrimSpace(line[5:])
		case strings.HasPrefix(line, "why:"):
			cur.Why = strings.TrimSpace(line[4:])
		case strings.HasPrefix(line, "pkgs:"):
			cur.Pkgs = strings.Fields(line[5:])
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		default:
			return nil, fmt.Errorf("%s:%d: mutation %s: a line must start with file:, why:, pkgs:, - or +", path, n, cur.Name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return ms, nil
}

// operatorMutants are the generic mutants of one file: each comparison
// negated (== and !=, < and >=, > and <=), each && made || and back, each
// ! removed, one at a time, inside function bodies.
func operatorMutants(root, file string) ([]Mutation, error) {
	src, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return nil, err
	}
	flip := map[token.Token]token.Token{
		token.EQL: token.NEQ, token.NEQ: token.EQL,
		token.LSS: token.GEQ, token.GEQ: token.LSS,
		token.GTR: token.LEQ, token.LEQ: token.GTR,
		token.LAND: token.LOR, token.LOR: token.LAND,
	}
	var ms []Mutation
	for _, d := range af.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			var pos token.Pos
			var old, new string
			switch e := n.(type) {
			case *ast.BinaryExpr:
				to, ok := flip[e.Op]
				if !ok {
					return true
				}
				pos, old, new = e.OpPos, e.Op.String(), to.String()
			case *ast.UnaryExpr:
				if e.Op != token.NOT {
					return true
				}
				pos, old, new = e.OpPos, "!", ""
			default:
				return true
			}
			p := fset.Position(pos)
			desc := old + " → " + new
			if new == "" {
				desc = "! removed"
			}
			ms = append(ms, Mutation{
				Name: fmt.Sprintf("%s:%d:%d %s", filepath.Base(file), p.Line, p.Column, desc),
				File: file, Why: fd.Name.Name + ": " + desc,
				Old: old, New: new, off: p.Offset,
			})
			return true
		})
	}
	return ms, nil
}

// deps knows which test binaries of the scope link which package.
type deps struct {
	module string
	tests  map[string][]string // a package with tests → what its test binary links
	order  []string
}

// testDeps lists the scope's packages that have tests, with every
// package their test binaries link.
func testDeps(root string, scope []string) (*deps, error) {
	cmd := exec.Command("go", append([]string{"list", "-test", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}"}, scope...)...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	d := &deps{module: strings.TrimSpace(string(mod)), tests: map[string][]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, ds, _ := strings.Cut(line, "\t")
		// The test binary, "pkg.test", links the package's tests and
		// everything they import.
		if pkg, ok := strings.CutSuffix(path, ".test"); ok {
			d.tests[pkg] = strings.Fields(ds)
			d.order = append(d.order, pkg)
		}
	}
	return d, nil
}

// reaching: the packages with tests whose test binaries link the package
// in dir (relative to the module root), that package first, then the
// smaller test binaries first, so that a killing package comes soon.
func (d *deps) reaching(dir string) []string {
	pkg := d.module
	if dir != "." {
		pkg += "/" + filepath.ToSlash(dir)
	}
	var out []string
	for _, p := range d.order {
		if p == pkg || slices.Contains(d.tests[p], pkg) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case a == pkg:
			return -1
		case b == pkg:
			return 1
		}
		return len(d.tests[a]) - len(d.tests[b])
	})
	return out
}

// try runs the tests of pkgs against mutant m, one package at a time,
// stopping at the first that fails: "killed", "SURVIVED", or "INVALID"
// when the mutant does not compile.
func try(parent context.Context, root, tmp string, m Mutation, pkgs []string, timeout time.Duration, testRun string) (string, string, error) {
	path := filepath.Join(root, m.File)
	src, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var mutant []byte
	if m.off >= 0 {
		if !bytes.HasPrefix(src[m.off:], []byte(m.Old)) {
			return "", "", fmt.Errorf("%s: %q not at offset %d", m.Name, m.Old, m.off)
		}
		mutant = slices.Concat(src[:m.off], []byte(m.New), src[m.off+len(m.Old):])
	} else {
		mutant = bytes.Replace(src, []byte(m.Old), []byte(m.New), 1)
	}
	mfile := filepath.Join(tmp, "mutant.go")
	if err := os.WriteFile(mfile, mutant, 0o644); err != nil {
		return "", "", err
	}
	ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{path: mfile}})
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		return "", "", err
	}
	for _, p := range pkgs {
		ctx, cancel := context.WithTimeout(parent, timeout+time.Minute)
		args := []string{"test", "-overlay", ovFile, "-failfast", "-timeout", timeout.String()}
		if testRun != "" {
			args = append(args, "-run", testRun)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, p)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			continue
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) && ctx.Err() == nil {
			return "", "", fmt.Errorf("go test %s: %w", p, err)
		}
		if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
			return "INVALID", firstLines(out, 5), nil
		}
		return "killed", p + ": " + failures(out), nil
	}
	return "SURVIVED", "", nil
}

// failures are the names of the failing tests in go test's output.
func failures(out []byte) string {
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "--- FAIL: "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	if len(names) == 0 {
		return firstLines(out, 3)
	}
	return strings.Join(names, " ")
}

func firstLines(b []byte, n int) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(ls[:min(n, len(ls))], "\n")
}
