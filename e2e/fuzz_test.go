//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzTargets are the fuzz targets that guard input from outside the
// program, by package; each must have a seed corpus checked in.
var fuzzTargets = map[string][]string{
	"internal/sourceurl": {"FuzzParse"},
	"internal/redact":    {"FuzzURL"},
	"internal/flow":      {"FuzzDecode"},
	"starter":            {"FuzzParseParams"},
	"internal/source":    {"FuzzNDJSON", "FuzzJSONArray", "FuzzCSV", "FuzzHTTPBody"},
	"internal/transform": {"FuzzNormalize"},
	"deployments":        {"FuzzParse"},
}

// moduleRoot is the directory of go.mod.
func moduleRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Dir(filepath.Dir(file))
}

// TestFuzzTargetsHaveSeedCorpora checks that the fuzz targets exist, that
// their seed corpora are checked in under testdata/fuzz, and that every
// fuzz target of the module starts from some seeds. `make fuzz` runs them
// all.
func TestFuzzTargetsHaveSeedCorpora(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	// Checked in: known to git, when this is a git work tree.
	tracked := func(string) bool { return true }
	if out, err := exec.Command("git", "-C", root, "ls-files", "--", "*testdata/fuzz/*").Output(); err == nil {
		files := map[string]bool{}
		for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			files[f] = true
		}
		tracked = func(rel string) bool { return files[rel] }
	}
	funcRE := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range funcRE.FindAllStringSubmatchIndex(string(src), -1) {
			name := string(src[m[2]:m[3]])
			found[pkg+"."+name] = true
			entries, _ := os.ReadDir(filepath.Join(filepath.Dir(path), "testdata", "fuzz", name))
			body := string(src[m[1]:])
			if end := strings.Index(body, "\nfunc "); end >= 0 {
				body = body[:end]
			}
			hasAdd := strings.Contains(body, ".Add(")
			require.True(t, len(entries) > 0 || hasAdd, "%s.%s has no seeds: add a corpus under testdata/fuzz/%s or f.Add calls", pkg, name, name)
		}
		return nil
	})
	require.NoError(t, err)
	for pkg, names := range fuzzTargets {
		for _, name := range names {
			require.True(t, found[pkg+"."+name], "fuzz target %s.%s exists", pkg, name)
			dir := filepath.Join(root, pkg, "testdata", "fuzz", name)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err, "seed corpus of %s.%s", pkg, name)
			n := 0
			for _, e := range entries {
				if rel := filepath.ToSlash(filepath.Join(pkg, "testdata", "fuzz", name, e.Name())); tracked(rel) {
					n++
				}
			}
			require.Positive(t, n, "%s has checked-in seeds", dir)
		}
	}
	t.Logf("%d fuzz targets: %v", len(found), found)
}
