// Package docs holds blueprint's documentation pages; its test checks that
// they stay true to the repository: every relative link and anchor
// resolves, the README stays a front door, and the layout table of
// architecture.md lists every package.
package docs

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/markdown"
)

// maxReadmeLines keeps README.md the front door: the reference lives here.
const maxReadmeLines = 300

// pages are README.md and every page of docs/, relative to the module root.
func pages(t *testing.T) []string {
	t.Helper()
	out := []string{"README.md"}
	names, err := filepath.Glob("*.md")
	require.NoError(t, err)
	for _, n := range names {
		out = append(out, filepath.Join("docs", n))
	}
	return out
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", rel))
	require.NoError(t, err)
	return string(b)
}

// TestLinksResolve follows every relative link of README.md and docs/: the
// file or folder it names exists, and its anchor is a heading of the page.
func TestLinksResolve(t *testing.T) {
	for _, page := range pages(t) {
		doc := read(t, page)
		for _, link := range markdown.Links(doc) {
			u, err := url.Parse(link)
			if !assert.NoError(t, err, "%s: link %q", page, link) || u.Scheme != "" {
				continue
			}
			target := page
			if u.Path != "" {
				target = filepath.Join(filepath.Dir(page), u.Path)
				_, err := os.Stat(filepath.Join("..", target))
				if !assert.NoError(t, err, "%s: link %q: no such file", page, link) {
					continue
				}
			}
			if u.Fragment == "" {
				continue
			}
			if !assert.True(t, strings.HasSuffix(target, ".md"), "%s: link %q: an anchor into a file that is not Markdown", page, link) {
				continue
			}
			assert.True(t, markdown.Anchors(read(t, target))[u.Fragment], "%s: link %q: %s has no heading with that anchor", page, link, target)
		}
	}
}

func TestReadmeIsShort(t *testing.T) {
	lines := strings.Count(read(t, "README.md"), "\n")
	assert.LessOrEqual(t, lines, maxReadmeLines, "README.md has %d lines: move the detail to a page of docs/", lines)
}

// TestLayoutListsEveryPackage fails when a folder with Go code is missing
// from the layout table of architecture.md, or the table names one that is
// gone.
func TestLayoutListsEveryPackage(t *testing.T) {
	doc := read(t, "docs/architecture.md")
	listed := map[string]bool{}
	for _, line := range strings.Split(doc[strings.Index(doc, "## Repository layout"):], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.SplitN(line, "|", 3)[1]
		for _, p := range strings.Split(cell, ",") {
			listed[strings.TrimSuffix(strings.Trim(strings.TrimSpace(p), "`"), "/")] = true
		}
	}
	found := map[string]bool{}
	root := ".."
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "node_modules" || name == "data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	}))
	require.NotEmpty(t, found)
	for pkg := range found {
		assert.True(t, listed[pkg], "package %s is not in the layout table of docs/architecture.md", pkg)
	}
	for pkg := range listed {
		if !strings.Contains(pkg, ".") { // a folder, not a file such as docker-compose.yml
			_, err := os.Stat(filepath.Join(root, pkg))
			assert.NoError(t, err, "docs/architecture.md lists %s, which does not exist", pkg)
		}
	}
}
