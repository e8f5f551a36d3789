package source

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// writeFile creates dir/name with content, making parent directories.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestFileFormats(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		want    []string
	}{
		{
			name: "json array",
			file: "orders.json",
			content: "[\n  {\"id\": \"a\",\n   \"n\": 1},\n  {\"id\":\"b\", \"tags\": [1, 2]},\n 3, \"x\\ny\", null,\n" +
				" {\"id\": \"c\"}, {\"id\": \"d\"}\n]\n",
			want: []string{`{"id":"a","n":1}`, `{"id":"b","tags":[1,2]}`, `3`, `"x\ny"`, `null`, `{"id":"c"}`, `{"id":"d"}`},
		},
		{
			name:    "empty json array",
			file:    "empty.json",
			content: " [ ] ",
			want:    []string{},
		},
		{
			name:    "ndjson",
			file:    "orders.ndjson",
			content: "{\"id\": \"a\"}\n\n  \n{\"id\":\"b\"}\r\nnot json at all\n{\"id\": \"c\", \"x\": [1, 2]}\n{broken\n\"s\"\n{\"id\":\"d\"}",
			want:    []string{`{"id":"a"}`, `{"id":"b"}`, `not json at all`, `{"id":"c","x":[1,2]}`, `{broken`, `"s"`, `{"id":"d"}`},
		},
		{
			name:    "jsonl",
			file:    "orders.JSONL",
			content: "{\"id\":\"a\"}\n{\"id\":\"b\"}\n\n",
			want:    []string{`{"id":"a"}`, `{"id":"b"}`},
		},
		{
			name: "csv",
			file: "orders.csv",
			content: "\uFEFFid, customer_email ,amount\n" +
				"ord-1,a@example.com,12.50\n" +
				"ord-2,\"b@example.com\",\"1,000.00\"\n" +
				"\n" +
				"ord-3,\"multi\nline \"\"quoted\"\"\",3\n" +
				"ord-4,short\n" +
				"ord-5,c@example.com,5,extra\n" +
				",,\n",
			want: []string{
				`{"id":"ord-1","customer_email":"a@example.com","amount":"12.50"}`,
				`{"id":"ord-2","customer_email":"b@example.com","amount":"1,000.00"}`,
				`{"id":"ord-3","customer_email":"multi\nline \"quoted\"","amount":"3"}`,
				`{"id":"ord-4","customer_email":"short"}`,
				`{"id":"ord-5","customer_email":"c@example.com","amount":"5","column_4":"extra"}`,
				`{"id":"","customer_email":"","amount":""}`,
			},
		},
		{
			name:    "csv header only",
			file:    "header.csv",
			content: "id,amount\n",
			want:    []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, tt.file, tt.content)
			spec := mustSpec(t, "file:"+tt.file)
			cfg := Config{FileRoot: root, PageSize: 2}

			got, cursors, err := readAll(t, open(t, spec, "", 100, Attempt{}, cfg))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			// Resuming from each page's cursor gives the rest of the records.
			for i, cursor := range cursors {
				if cursor == "" {
					require.Equal(t, len(cursors)-1, i, "only the last page may say the source is done")
					continue
				}
				done := (i + 1) * cfg.PageSize
				rest, _, err := readAll(t, open(t, spec, cursor, 100, Attempt{}, cfg))
				require.NoError(t, err)
				require.Equal(t, tt.want[done:], rest, "resume from cursor %s", cursor)
			}

			// The limit is respected, and a resume honours a new one.
			if len(tt.want) > 3 {
				got, cursors, err := readAll(t, open(t, spec, "", 3, Attempt{}, cfg))
				require.NoError(t, err)
				require.Equal(t, tt.want[:3], got)
				rest, _, err := readAll(t, open(t, spec, cursors[0], 1, Attempt{}, cfg))
				require.NoError(t, err)
				require.Equal(t, tt.want[2:3], rest)
			}
		})
	}
}

func TestFileRootDefaultsToWorkingDirectory(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "data/orders.ndjson", "{\"id\":\"a\"}\n")
	t.Chdir(root)
	got, _, err := readAll(t, open(t, mustSpec(t, "file:data/orders.ndjson"), "", 10, Attempt{}, Config{}))
	require.NoError(t, err)
	require.Equal(t, []string{`{"id":"a"}`}, got)
}

func TestFilePathsInsideRoot(t *testing.T) {
	root := t.TempDir()
	target := writeFile(t, root, "data/orders.json", `[{"id":"a"}]`)
	require.NoError(t, os.Symlink(target, filepath.Join(root, "link.json")))
	for _, url := range []string{
		"file:data/orders.json",
		"file:./data/../data/orders.json",
		"file://" + target,
		"file:link.json", // a symlink that stays inside the root
	} {
		t.Run(url, func(t *testing.T) {
			got, _, err := readAll(t, open(t, mustSpec(t, url), "", 10, Attempt{}, Config{FileRoot: root}))
			require.NoError(t, err)
			require.Equal(t, []string{`{"id":"a"}`}, got)
		})
	}
}

func TestFileRefused(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := writeFile(t, base, "secret.json", `[{"secret":true}]`)
	writeFile(t, root, "notes.txt", "hello")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dir.json"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "escape.json")))
	require.NoError(t, os.Symlink(base, filepath.Join(root, "up")))

	tests := []struct {
		name string
		url  string
		msg  string
	}{
		{"dot-dot", "file:../secret.json", "outside the file root"},
		{"dot-dot inside path", "file:data/../../secret.json", "outside the file root"},
		{"absolute outside", "file://" + outside, "outside the file root"},
		{"symlink to a file outside", "file:escape.json", "outside the file root"},
		{"symlinked directory outside", "file:up/secret.json", "outside the file root"},
		{"missing outside does not reveal existence", "file:../nope.json", "outside the file root"},
		{"missing", "file:nope.json", "does not exist"},
		{"directory", "file:dir.json", "not a regular file"},
		{"unknown extension", "file:notes.txt", `extension ".txt" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), mustSpec(t, tt.url), "", 10, restapi.RecordFields, Attempt{}, Config{FileRoot: root})
			appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
			require.Contains(t, appErr.Error(), tt.msg)
			if tt.msg == "outside the file root" {
				require.Contains(t, appErr.Error(), root, "the message names the root")
			}
		})
	}
}

func TestFileMalformed(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		msg     string
	}{
		{"json syntax error", "bad.json", `[{"id":"a"}, {"id": x}]`, "at byte 19"},
		{"json not an array", "obj.json", `{"id":"a"}`, "top-level value is an object, want a JSON array"},
		{"json truncated", "cut.json", `[{"id":"a"}, {"id":`, "input ends early"},
		{"json unterminated array", "open.json", `[{"id":"a"}`, "unterminated JSON array"},
		{"json trailing data", "trail.json", `[{"id":"a"}] {}`, "after the JSON array"},
		{"json empty file", "empty.json", ``, "want a JSON array"},
		{"csv bare quote", "bad.csv", "id,name\n1,ok\n2,bro\"ken\n", "malformed CSV row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, tt.file, tt.content)
			_, _, err := readAll(t, open(t, mustSpec(t, "file:"+tt.file), "", 10, Attempt{}, Config{FileRoot: root}))
			appErr := requireAppError(t, err, runinfo.ErrBadData, false)
			require.Contains(t, appErr.Error(), tt.msg)
			require.Contains(t, appErr.Error(), tt.file)
		})
	}
}

func TestFileBadCursor(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "o.csv", "id,amount\n1,2\n")
	writeFile(t, root, "o.json", "[1,2]")
	tests := []struct{ file, cursor string }{
		{"o.csv", "not-a-number"},
		{"o.csv", "-1"},
		{"o.csv", "3"}, // inside the header
		{"o.json", "1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"@"+tt.cursor, func(t *testing.T) {
			_, err := Open(context.Background(), mustSpec(t, "file:"+tt.file), tt.cursor, 10, restapi.RecordFields, Attempt{}, Config{FileRoot: root})
			requireAppError(t, err, runinfo.ErrBadSource, false)
		})
	}
}

func TestFileCursorPastEnd(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "o.ndjson", "1\n2\n")
	writeFile(t, root, "o.json", "[1,2]")
	for _, file := range []string{"o.ndjson", "o.json"} {
		got, _, err := readAll(t, open(t, mustSpec(t, "file:"+file), strconv.Itoa(100), 10, Attempt{}, Config{FileRoot: root}))
		require.NoError(t, err)
		require.Empty(t, got)
	}
}
