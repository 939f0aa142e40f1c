package core_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// These tests compile Go source with go/types, against this module's
// packages read from source: they check what must not compile (an option
// of one kind of client passed to another, a raw int where an enum is
// expected) and that the Go code shown in README.md and docs/go-guide.md
// compiles against the current API.

// checker type-checks Go files as if they were in the core directory, so
// that the module's packages resolve.
type checker struct {
	t   *testing.T
	dir string
}

// One importer serves every check: it caches the packages it read from
// source, which is most of the time a check takes. Checks run one at a
// time (the importer is not safe for concurrent use).
var shared struct {
	sync.Mutex
	fset *token.FileSet
	imp  types.ImporterFrom
}

func newChecker(t *testing.T) *checker {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return &checker{t: t, dir: dir}
}

// typeErr is one type error: its line in the checked file and message.
type typeErr struct {
	line int
	msg  string
}

func (c *checker) check(name, src string) []typeErr {
	c.t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.imp == nil {
		shared.fset = token.NewFileSet()
		shared.imp = importer.ForCompiler(shared.fset, "source", nil).(types.ImporterFrom)
	}
	f, err := parser.ParseFile(shared.fset, filepath.Join(c.dir, name), src, 0)
	if err != nil {
		c.t.Fatalf("%s does not parse: %v\n%s", name, err, src)
	}
	var errs []typeErr
	conf := types.Config{Importer: shared.imp, Error: func(err error) {
		te := err.(types.Error)
		errs = append(errs, typeErr{shared.fset.Position(te.Pos).Line, te.Msg})
	}}
	_, _ = conf.Check("snippet", shared.fset, []*ast.File{f}, nil)
	return errs
}

// Each option is accepted by exactly the constructors of the kinds it
// applies to; every other constructor refuses it at compile time.
func TestOptionKindsTypeCheck(t *testing.T) {
	ctors := []string{"NewProducer", "NewConsumer", "NewShareConsumer", "NewAdmin", "NewClient", "NewPool"}
	all := map[string]bool{"NewProducer": true, "NewConsumer": true, "NewShareConsumer": true, "NewAdmin": true, "NewClient": true, "NewPool": true}
	clients := map[string]bool{"NewProducer": true, "NewConsumer": true, "NewShareConsumer": true, "NewAdmin": true, "NewClient": true}
	options := []struct {
		expr string
		kind map[string]bool // constructors that accept it
	}{
		{`core.WithAcks(core.AcksAll)`, map[string]bool{"NewProducer": true}},
		{`core.WithLinger(time.Millisecond)`, map[string]bool{"NewProducer": true}},
		{`core.WithGroupID("g")`, map[string]bool{"NewConsumer": true, "NewShareConsumer": true}},
		{`core.WithMaxPollRecords(10)`, map[string]bool{"NewConsumer": true, "NewShareConsumer": true}},
		{`core.WithAutoOffsetReset(core.OffsetResetEarliest)`, map[string]bool{"NewConsumer": true}},
		{`core.WithShareAcknowledgementMode(core.ShareAckExplicit)`, map[string]bool{"NewShareConsumer": true}},
		{`core.WithIsolationLevel(core.ReadCommitted)`, map[string]bool{"NewConsumer": true}},
		{`core.WithBrokers("h:1")`, clients},
		{`core.WithRetry(core.DefaultRetryPolicy())`, clients},
		{`core.WithPool(nil)`, clients},
		{`core.WithClientID("c")`, all},
		{`core.WithTLS(nil)`, all},
		{`core.WithMaxConnections(4)`, all},
		{`core.WithLogger(nil)`, all},
		{`core.WithAcquireTimeout(time.Second)`, map[string]bool{"NewPool": true}},
	}
	var b strings.Builder
	b.WriteString("package snippet\n\nimport (\n\t\"time\"\n\n\t\"github.com/gofka/gofka/core\"\n)\n\nvar _ = time.Second\n\nfunc f() {\n")
	type use struct {
		ctor, opt string
		ok        bool
	}
	lines := map[int]use{}
	line := strings.Count(b.String(), "\n") + 1
	for _, o := range options {
		for _, ctor := range ctors {
			fmt.Fprintf(&b, "\t_, _ = core.%s(%s)\n", ctor, o.expr)
			lines[line] = use{ctor, o.expr, o.kind[ctor]}
			line++
		}
	}
	// Raw values where a typed enum is expected do not compile either.
	raw := []string{
		"n := int16(-1); _ = core.WithAcks(n)",
		"l := int8(1); _ = core.WithIsolationLevel(l)",
		"s := \"earliest\"; _ = core.WithAutoOffsetReset(s)",
		"p := \"consumer\"; _ = core.WithGroupProtocol(p)",
		"a := \"range\"; _ = core.WithAssignmentStrategies(a)",
		"sp := \"SSL\"; _ = core.WithSecurityProtocol(sp)",
	}
	for _, r := range raw {
		fmt.Fprintf(&b, "\t{ %s }\n", r)
		lines[line] = use{"", r, false}
		line++
	}
	b.WriteString("}\n")

	got := map[int][]string{}
	for _, e := range newChecker(t).check("option_kinds_check.go", b.String()) {
		if _, known := lines[e.line]; !known {
			t.Fatalf("unexpected type error at line %d: %s\n%s", e.line, e.msg, b.String())
		}
		got[e.line] = append(got[e.line], e.msg)
	}
	for ln, u := range lines {
		switch {
		case u.ok && len(got[ln]) > 0:
			t.Errorf("core.%s(%s) should compile: %v", u.ctor, u.opt, got[ln])
		case !u.ok && len(got[ln]) == 0:
			t.Errorf("%s(%s) compiles but must not", u.ctor, u.opt)
		case !u.ok && u.ctor != "" && !strings.Contains(strings.Join(got[ln], "\n"), "does not implement"):
			t.Errorf("core.%s(%s): want a does-not-implement error, got %v", u.ctor, u.opt, got[ln])
		}
	}
}

// The Go code of README.md and docs/go-guide.md compiles. Blocks are
// fragments: each becomes the body of a function that has ctx (and t for
// test code) in scope, with the imports the docs assume; "{ ... }" (error
// handling left to the reader) becomes a panic, and variables or imports a
// fragment leaves unused are not errors.
func TestDocsGoCodeTypeChecks(t *testing.T) {
	blockRE := regexp.MustCompile("(?s)```go\n(.*?)```")
	c := newChecker(t)
	total := 0
	for _, doc := range []string{"../README.md", "../docs/go-guide.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		blocks := blockRE.FindAllStringSubmatch(string(text), -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no Go block", doc)
		}
		total += len(blocks)
		var b strings.Builder
		b.WriteString("package snippet\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"testing\"\n\n\t\"github.com/gofka/gofka/core\"\n\t\"github.com/gofka/gofka/devcluster\"\n\t\"github.com/gofka/gofka/wire\"\n)\n\n")
		b.WriteString("var ctx = context.Background()\nvar t *testing.T\nvar _, _, _, _ = fmt.Sprint, core.Version, devcluster.Start, wire.CodeOf\n\n")
		for i, blk := range blocks {
			fmt.Fprintf(&b, "func block%d() {\n", i)
			for _, l := range strings.Split(blk[1], "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "import ") {
					continue // the package imports above cover it
				}
				b.WriteString(strings.ReplaceAll(l, "{ ... }", "{ panic(err) }") + "\n")
			}
			b.WriteString("}\n\n")
		}
		bad := 0
		for _, e := range c.check("docs_check.go", b.String()) {
			if strings.Contains(e.msg, "declared and not used") || strings.Contains(e.msg, "imported and not used") {
				continue
			}
			t.Errorf("%s: generated line %d: %s", doc, e.line, e.msg)
			bad++
		}
		if bad > 0 {
			t.Logf("checked source:\n%s", b.String())
		}
	}
	t.Logf("%d Go blocks type-checked", total)
}

// Every option's doc states the default it overrides (or that there is
// none), so that a reader of godoc need not look the property up.
func TestOptionDocsStateDefault(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range pkgs["core"].Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "With") || !fd.Name.IsExported() {
				continue
			}
			n++
			if doc := fd.Doc.Text(); !strings.Contains(strings.ToLower(doc), "default") {
				t.Errorf("%s: its doc does not state the default:\n%s", fd.Name.Name, doc)
			}
		}
	}
	if n < 40 {
		t.Fatalf("found %d With* options; expected the whole set", n)
	}
}
