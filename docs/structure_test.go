package docs

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/blueprint-etl/blueprint"

// goList runs `go list -json` on patterns from the module root.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	require.NoError(t, err, "go list %s", strings.Join(args, " "))
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// rel is a package's folder relative to the module root ("" for the root).
func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// TestNoArrowBackUp fails when two sibling folders import each other,
// directly or through a package below either: the structure is a tree of
// rooms whose arrows all point one way. A package that imports a package
// of its sibling's folder makes an arrow between the two siblings.
func TestNoArrowBackUp(t *testing.T) {
	arrows := map[[2]string][]string{} // sibling pair -> an example import
	for _, p := range goList(t, "./...") {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			a, b := siblings(from, rel(imp))
			if a != "" {
				arrows[[2]string{a, b}] = append(arrows[[2]string{a, b}], from+" imports "+rel(imp))
			}
		}
	}
	for pair, why := range arrows {
		back, ok := arrows[[2]string{pair[1], pair[0]}]
		if ok && pair[0] < pair[1] {
			assert.Failf(t, "sibling folders import each other", "%s and %s: %s; and %s", pair[0], pair[1], why[0], back[0])
		}
	}
}

// siblings returns the two sibling folders an import from one folder to
// another crosses: the children of their deepest common folder on each
// side. It returns "" when one folder is inside the other.
func siblings(from, to string) (string, string) {
	f, g := split(from), split(to)
	i := 0
	for i < len(f) && i < len(g) && f[i] == g[i] {
		i++
	}
	if i == len(f) || i == len(g) {
		return "", ""
	}
	return path.Join(f[:i+1]...), path.Join(g[:i+1]...)
}

func split(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func TestSiblings(t *testing.T) {
	for _, tc := range []struct{ from, to, a, b string }{
		{"internal/source", "internal/pipeline", "internal/source", "internal/pipeline"},
		{"internal/pipeline", "internal/source/restapi", "internal/pipeline", "internal/source"},
		{"cmd/blueprint", "cmd/blueprint/internal/cli", "", ""},
		{"cmd/blueprint/internal/cli", "internal/store", "cmd", "internal"},
		{"flows/flowstest", "flows", "", ""},
	} {
		a, b := siblings(tc.from, tc.to)
		assert.Equal(t, [2]string{tc.a, tc.b}, [2]string{a, b}, "%s -> %s", tc.from, tc.to)
	}
}

// TestManifestLoaderNeedsNoDatabase: reading a manifest pulls in no
// database driver, and nothing a worker runs.
func TestManifestLoaderNeedsNoDatabase(t *testing.T) {
	pkgs := goList(t, "-deps", "./deployments")
	for _, p := range pkgs {
		for _, banned := range []string{"github.com/jackc/pgx", "modernc.org/sqlite", module + "/internal/store", module + "/activities", module + "/workflows"} {
			assert.False(t, strings.HasPrefix(p.ImportPath, banned), "deployments depends on %s", p.ImportPath)
		}
	}
}

// TestPackageDocsSayWhatTheyMustNotImport: every package's doc comment says
// what it must not import, and the code keeps its word. A doc says either
// that it "imports nothing of blueprint" (no import of the module at all) or
// "It must not import `a`, `b` or `c`: ..." (nothing it depends on, however
// indirectly, is one of those folders or below them).
func TestPackageDocsSayWhatTheyMustNotImport(t *testing.T) {
	for _, p := range goList(t, "./...") {
		if len(p.GoFiles) == 0 {
			continue // only tests: docs, e2e
		}
		here := rel(p.ImportPath)
		doc := packageDoc(t, p.Dir, p.GoFiles)
		switch {
		case strings.Contains(doc, "imports nothing of blueprint"):
			for _, imp := range p.Imports {
				assert.False(t, strings.HasPrefix(imp, module+"/"), "%s says it imports nothing of blueprint, but imports %s", here, rel(imp))
			}
		case strings.Contains(doc, "It must not import "):
			clause := doc[strings.Index(doc, "It must not import ")+len("It must not import "):]
			if i := strings.IndexAny(clause, ":."); i >= 0 {
				clause = clause[:i]
			}
			banned := backticked.FindAllStringSubmatch(clause, -1)
			require.NotEmpty(t, banned, "%s: name the folders in backticks after \"It must not import\"", here)
			for _, dep := range p.Deps {
				if !strings.HasPrefix(dep, module+"/") {
					continue
				}
				d := rel(dep)
				for _, b := range banned {
					assert.False(t, d == b[1] || strings.HasPrefix(d, b[1]+"/"), "%s must not import %s, but depends on %s", here, b[1], d)
				}
			}
		default:
			assert.Failf(t, "package doc", "%s: its doc comment says what it holds, but not what it must not import (\"It must not import `...`\" or \"It imports nothing of blueprint.\")", here)
		}
	}
}

var backticked = regexp.MustCompile("`([^`]+)`")

// packageDoc is the package's doc comment, from whichever of its files
// carries one.
func packageDoc(t *testing.T, dir string, files []string) string {
	t.Helper()
	var doc strings.Builder
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
		require.NoError(t, err)
		if f.Doc != nil {
			doc.WriteString(f.Doc.Text())
		}
	}
	return strings.Join(strings.Fields(doc.String()), " ")
}
