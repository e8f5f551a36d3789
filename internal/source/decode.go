package source

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLineBytes bounds one NDJSON line, so that a file without newlines
// cannot make the reader buffer all of it.
const maxLineBytes = 16 << 20

// formatError says the input is not in the declared format. Callers turn it
// into a non-retryable BadData error naming the file or URL.
type formatError struct {
	Offset int64 // byte offset in the input where the problem was found
	Msg    string
	Err    error
}

func (e *formatError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }
func (e *formatError) Unwrap() error { return e.Err }

// errBadCursor says a cursor does not point into the source.
var errBadCursor = errors.New("cursor is not a position in this source")

// decoder yields the records of one input, one at a time.
type decoder interface {
	// next returns the next record (compact, newline-free), io.EOF itself
	// at the end, a *formatError for malformed input, or the reader's error.
	// Callers compare err == io.EOF: an error that merely wraps io.EOF is a
	// failure, never the end of the input.
	next() ([]byte, error)
	// cursor is the position right after the last record returned.
	cursor() string
}

// collect reads up to max records (max < 0: all) from d. done reports
// that d reached its end.
func collect(d decoder, max int) (records [][]byte, done bool, err error) {
	for max < 0 || len(records) < max {
		rec, err := d.next()
		if err == io.EOF {
			return records, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		records = append(records, rec)
	}
	return records, false, nil
}

// arrayDecoder streams the elements of a top-level JSON array, never holding
// more than one element in memory.
type arrayDecoder struct {
	dec   *json.Decoder
	state int // 0: before '[', 1: inside the array, 2: after ']'
	index int64
	buf   bytes.Buffer
}

func newArrayDecoder(r io.Reader) *arrayDecoder {
	return &arrayDecoder{dec: json.NewDecoder(r)}
}

func (a *arrayDecoder) cursor() string { return strconv.FormatInt(a.index, 10) }

func (a *arrayDecoder) next() ([]byte, error) {
	switch a.state {
	case 0:
		tok, err := a.dec.Token()
		if err != nil {
			return nil, a.syntax(err, "want a JSON array")
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, &formatError{Offset: a.dec.InputOffset(), Msg: fmt.Sprintf("top-level value is %s, want a JSON array", describeToken(tok))}
		}
		a.state = 1
	case 2:
		return nil, io.EOF
	}
	if !a.dec.More() {
		if _, err := a.dec.Token(); err != nil { // the closing ']'
			return nil, a.syntax(err, "unterminated JSON array")
		}
		if tok, err := a.dec.Token(); err != io.EOF {
			if err != nil {
				return nil, a.syntax(err, "")
			}
			return nil, &formatError{Offset: a.dec.InputOffset(), Msg: fmt.Sprintf("unexpected %s after the JSON array", describeToken(tok))}
		}
		a.state = 2
		return nil, io.EOF
	}
	var raw json.RawMessage
	if err := a.dec.Decode(&raw); err != nil {
		return nil, a.syntax(err, "unterminated JSON array")
	}
	a.index++
	a.buf.Reset()
	if err := json.Compact(&a.buf, raw); err != nil { // cannot happen: Decode validated raw
		return nil, &formatError{Offset: a.dec.InputOffset(), Msg: "invalid JSON value", Err: err}
	}
	return bytes.Clone(a.buf.Bytes()), nil
}

// syntax turns a decoder error into a *formatError; eofMsg describes an
// input that ends too early. Errors of the underlying reader pass through.
func (a *arrayDecoder) syntax(err error, eofMsg string) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &formatError{Offset: se.Offset, Msg: "malformed JSON: " + se.Error(), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &formatError{Offset: a.dec.InputOffset(), Msg: "input ends early: " + eofMsg, Err: io.ErrUnexpectedEOF}
	default:
		return err
	}
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return strconv.Quote(t.String())
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("a %T", t)
	}
}

// lineDecoder reads NDJSON: one value per line, blank lines skipped. A line
// that is valid JSON is compacted; any other line is passed through as it
// is (it has no newline, by construction), for Transform to reject.
type lineDecoder struct {
	r      *bufio.Reader
	offset int64 // byte offset of the next line in the whole input
	buf    bytes.Buffer
	line   []byte
}

// newLineDecoder reads r, which is positioned at byte offset of the input.
func newLineDecoder(r io.Reader, offset int64) *lineDecoder {
	return &lineDecoder{r: bufio.NewReaderSize(r, 64<<10), offset: offset}
}

func (l *lineDecoder) cursor() string { return strconv.FormatInt(l.offset, 10) }

func (l *lineDecoder) next() ([]byte, error) {
	for {
		start := l.offset
		line, err := l.readLine()
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) > maxLineBytes {
			return nil, &formatError{Offset: start, Msg: fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			return compactOrRaw(&l.buf, trimmed), nil
		}
		if err != nil {
			return nil, io.EOF
		}
	}
}

// readLine returns the next line without its newline; at the end of the
// input it returns the last (possibly empty) line with io.EOF. It stops
// accumulating beyond maxLineBytes.
func (l *lineDecoder) readLine() ([]byte, error) {
	l.line = l.line[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.offset += int64(len(chunk))
		if len(l.line)+len(chunk) <= maxLineBytes+1 {
			l.line = append(l.line, chunk...)
		} else {
			l.line = append(l.line, chunk[:maxLineBytes+1-len(l.line)]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if len(l.line) > maxLineBytes {
				return l.line, nil
			}
			continue
		case err != nil:
			return l.line, err
		default:
			return bytes.TrimSuffix(l.line, []byte{'\n'}), nil
		}
	}
}

// compactOrRaw returns a copy of b, compacted if it is valid JSON.
func compactOrRaw(buf *bytes.Buffer, b []byte) []byte {
	buf.Reset()
	if json.Compact(buf, b) == nil {
		return bytes.Clone(buf.Bytes())
	}
	return bytes.Clone(b)
}

// csvDecoder turns the rows of a CSV file into JSON objects with string
// values, keyed by the header row in header order. A row with fewer fields
// than the header gives an object of the fields present; fields beyond the
// header are keyed "column_N" (N counting from 1).
type csvDecoder struct {
	r    *csv.Reader
	base int64 // offset of the csv.Reader's input in the file
	keys [][]byte
}

// newCSVDecoder reads the header of rs, then positions it at offset (0 =
// right after the header). rs must be at its start.
func newCSVDecoder(rs io.ReadSeeker, offset int64) (*csvDecoder, error) {
	r := newCSVReader(rs)
	header, err := r.Read()
	if err == io.EOF {
		return &csvDecoder{r: r}, nil // empty file: no records
	}
	if err != nil {
		return nil, csvError(err, 0)
	}
	d := &csvDecoder{r: r}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF") // byte order mark
		}
		if name = strings.TrimSpace(name); name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		d.keys = append(d.keys, append(appendJSONString(nil, name), ':'))
	}
	headerEnd := r.InputOffset()
	if offset == 0 || offset == headerEnd {
		return d, nil
	}
	if offset < headerEnd {
		return nil, fmt.Errorf("%w: offset %d is inside the CSV header", errBadCursor, offset)
	}
	if _, err := rs.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	d.r, d.base = newCSVReader(rs), offset
	return d, nil
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func (d *csvDecoder) cursor() string { return strconv.FormatInt(d.base+d.r.InputOffset(), 10) }

func (d *csvDecoder) next() ([]byte, error) {
	start := d.base + d.r.InputOffset()
	row, err := d.r.Read()
	if err != nil {
		return nil, csvError(err, start)
	}
	out := make([]byte, 0, 64*len(row))
	out = append(out, '{')
	for i, v := range row {
		if i > 0 {
			out = append(out, ',')
		}
		if i < len(d.keys) {
			out = append(out, d.keys[i]...)
		} else {
			out = append(appendJSONString(out, "column_"+strconv.Itoa(i+1)), ':')
		}
		out = appendJSONString(out, v)
	}
	return append(out, '}'), nil
}

// csvError turns a csv.ParseError into a *formatError at the row's offset.
func csvError(err error, rowStart int64) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &formatError{Offset: rowStart, Msg: "malformed CSV row: " + pe.Err.Error(), Err: err}
	}
	return err
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// so the result is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
