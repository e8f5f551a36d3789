package source

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// fileReader reads a local file. Cursors are positions in the file: the
// record index for .json (a resumed read skips that many elements), the
// byte offset of the next line for .ndjson/.jsonl/.csv (a resumed read
// seeks there; CSV reads its header first).
type fileReader struct {
	f         *os.File
	name      string // the path as the user gave it, for messages
	dec       decoder
	skip      int64 // .json elements to skip before the first page
	pageSize  int
	remaining int64
	done      bool
}

// fileFormat returns the lower-cased extension of a file source, which
// names its format, or the error for one that is not supported.
func fileFormat(name string) (string, error) {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".json", ".ndjson", ".jsonl", ".csv":
		return ext, nil
	default:
		return "", badSource(nil, "file %s: extension %q is not supported; use .json, .ndjson, .jsonl or .csv", name, ext)
	}
}

func openFile(spec pipeline.SourceSpec, cursor string, limit int64, cfg Config) (Reader, error) {
	name := spec.Path
	ext, err := fileFormat(name)
	if err != nil {
		return nil, err
	}
	var offset int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, badSource(err, "cursor %q is not valid for file %s", cursor, name)
		}
		offset = n
	}

	root, rel, err := confine(name, cfg.FileRoot)
	if err != nil {
		return nil, err
	}
	// Open through an os.Root as well: it refuses a symlink that was
	// swapped in after confine looked, so the check cannot be raced.
	dir, err := os.OpenRoot(root)
	if err != nil {
		return nil, badSource(err, "cannot open file root %s", root)
	}
	defer dir.Close()
	f, err := dir.Open(rel)
	if err != nil {
		return nil, badSource(err, "cannot open file %s", name)
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		return nil, badSource(err, "file %s is not a regular file", name)
	}

	r := &fileReader{f: f, name: name, pageSize: cfg.PageSize, remaining: max(limit, 0)}
	switch ext {
	case ".json":
		r.dec, r.skip = newArrayDecoder(bufio.NewReaderSize(f, 64<<10)), offset
	case ".ndjson", ".jsonl":
		r.dec = newLineDecoder(f, offset)
		_, err = f.Seek(offset, io.SeekStart)
	case ".csv":
		r.dec, err = newCSVDecoder(f, offset)
	}
	if err != nil {
		f.Close()
		if errors.Is(err, errBadCursor) {
			return nil, badSource(err, "cursor %q is not valid for file %s", cursor, name)
		}
		return nil, r.fail(err)
	}
	return r, nil
}

// confine resolves path (absolute, or relative to root) and makes sure it
// stays inside root, "..", and symlinks included. It returns the real root
// and the real path relative to it. A path outside the root is refused
// before anything else is looked at, so errors do not reveal which files
// exist outside it.
func confine(path, root string) (realRoot, rel string, err error) {
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return "", "", badSource(err, "cannot determine the file root")
		}
	}
	absRoot, err := filepath.Abs(root)
	if err == nil {
		realRoot, err = filepath.EvalSymlinks(absRoot)
	}
	if err != nil {
		return "", "", badSource(err, "file root %s is not usable", root)
	}
	p := filepath.Clean(path)
	if !filepath.IsAbs(p) {
		p = filepath.Join(realRoot, p)
	}
	outside := func() error {
		return badSource(nil, "file %s is outside the file root %s", path, absRoot)
	}
	if !within(absRoot, p) && !within(realRoot, p) {
		return "", "", outside()
	}
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", badSource(nil, "file %s does not exist (file root %s)", path, absRoot)
	}
	if err != nil {
		return "", "", badSource(err, "cannot resolve file %s", path)
	}
	if !within(realRoot, real) {
		return "", "", outside()
	}
	rel, err = filepath.Rel(realRoot, real)
	return realRoot, rel, err
}

// within reports whether path is root or lies below it, lexically.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && filepath.IsLocal(rel)
}

func (r *fileReader) Next(ctx context.Context) (Page, error) {
	if r.done || r.remaining <= 0 {
		return Page{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	for ; r.skip > 0; r.skip-- {
		if _, err := r.dec.next(); err == io.EOF {
			r.done = true
			return Page{}, io.EOF
		} else if err != nil {
			return Page{}, r.fail(err)
		}
	}
	records, done, err := collect(r.dec, int(min(int64(r.pageSize), r.remaining)))
	if err != nil {
		return Page{}, r.fail(err)
	}
	r.done = done
	r.remaining -= int64(len(records))
	if len(records) == 0 {
		return Page{}, io.EOF
	}
	cursor := r.dec.cursor()
	if done {
		cursor = ""
	}
	return Page{Records: records, Cursor: cursor}, nil
}

// fail classifies a decoding error: malformed content cannot get better on
// retry, a failing read might.
func (r *fileReader) fail(err error) error {
	var fe *formatError
	if errors.As(err, &fe) {
		return badData(nil, "file %s: %s at byte %d", r.name, fe.Msg, fe.Offset)
	}
	return transient(0, err, "cannot read file %s", r.name)
}

func (r *fileReader) Close() error { return r.f.Close() }
