package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/flotilla-ipfs/flotilla/"

// A rule forbids some imports to some packages. Packages are module-relative
// paths; a trailing "/..." also matches every package below.
type rule struct {
	why       string
	packages  []string
	except    []string
	forbidden func(imp string) bool
}

var (
	httpPackages = []string{"proxy", "api/...", "intercept", "cmd/..."}
	core         = []string{"cluster", "cluster/...", "alloc", "health", "storage", "types"}
	// ioPackages are what a pure package has no business with.
	ioPackages = []string{"net", "net/http", "os", "os/exec", "io/fs", "syscall"}
)

var rules = []rule{
	{why: "a core package never imports an HTTP package", packages: core, forbidden: ours(httpPackages...)},
	{why: "storage imports nothing of ours but the leaf internal/durable", packages: []string{"storage"}, forbidden: func(imp string) bool {
		return anyOurs(imp) && imp != module+"internal/durable"
	}},
	{why: "types is a leaf: it imports only storage", packages: []string{"types"}, except: []string{"storage"}, forbidden: anyOurs},
	{why: "alloc is pure: nothing of ours, no I/O", packages: []string{"alloc"}, forbidden: func(imp string) bool {
		return anyOurs(imp) || slices.Contains(ioPackages, imp)
	}},
	{why: "health does not import cluster", packages: []string{"health"}, forbidden: ours("cluster", "cluster/...")},
	{why: "the HTTP packages reach the peer through interfaces they declare, never by importing cluster",
		packages: []string{"proxy", "api/...", "intercept"}, forbidden: ours("cluster", "cluster/...")},
	{why: "intercept is below the APIs and the proxy", packages: []string{"intercept"}, forbidden: ours("api/...", "proxy")},
	{why: "the APIs are below the proxy", packages: []string{"api/..."}, forbidden: ours("proxy")},
	{why: "the cluster's own jobs do not need the Node", packages: []string{"cluster/..."}, forbidden: ours("cluster")},
	{why: "internal packages are below everything but the test harness",
		packages: []string{"internal/..."}, except: []string{"internal/harness"},
		forbidden: ours(append([]string{"cluster", "cluster/..."}, httpPackages...)...)},
	{why: "nothing imports the command", packages: []string{"..."}, forbidden: ours("cmd/...")},
}

func TestImportsFollowTheLayering(t *testing.T) {
	imports := packageImports(t)
	if len(imports) < 10 {
		t.Fatalf("found only %d packages: is the test running from the module?", len(imports))
	}
	for pkg, imps := range imports {
		for _, r := range rules {
			if !matchesAny(pkg, r.packages) || slices.Contains(r.except, pkg) {
				continue
			}
			for _, imp := range imps {
				if r.forbidden(imp) && !slices.Contains(r.except, strings.TrimPrefix(imp, module)) {
					t.Errorf("%s imports %s: %s", pkg, strings.TrimPrefix(imp, module), r.why)
				}
			}
		}
	}
}

// TestTheRulesCatchAForbiddenImport makes sure the rules are wired: a test
// that matched nothing would pass forever.
func TestTheRulesCatchAForbiddenImport(t *testing.T) {
	cases := map[string]string{
		"api/rest":  module + "cluster",
		"storage":   module + "types",
		"alloc":     "net/http",
		"health":    module + "cluster",
		"intercept": module + "proxy",
		"cluster":   module + "api/rest",
	}
	for pkg, imp := range cases {
		caught := false
		for _, r := range rules {
			if matchesAny(pkg, r.packages) && !slices.Contains(r.except, pkg) && r.forbidden(imp) {
				caught = true
			}
		}
		if !caught {
			t.Errorf("%s importing %s is not caught by any rule", pkg, imp)
		}
	}
}

func ours(pkgs ...string) func(string) bool {
	return func(imp string) bool {
		rel, ok := strings.CutPrefix(imp, module)
		return ok && matchesAny(rel, pkgs)
	}
}

func anyOurs(imp string) bool { return strings.HasPrefix(imp, module) }

func matchesAny(pkg string, patterns []string) bool {
	for _, p := range patterns {
		if p == "..." || p == pkg {
			return true
		}
		if base, ok := strings.CutSuffix(p, "/..."); ok && strings.HasPrefix(pkg, base+"/") {
			return true
		}
	}
	return false
}

// packageImports parses the non-test Go files of the module, by package
// (module-relative path), without building anything.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if !slices.Contains(out[pkg], imp) {
				out[pkg] = append(out[pkg], imp)
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
