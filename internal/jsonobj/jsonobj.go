// Package jsonobj walks the members of one JSON object (a raw record) in a
// single pass, without decoding it into a map or a struct: the one walker
// that orders' Transform and a dataset's normaliser share, so both see the
// same members and refuse the same malformed records.
//
// It must not import `internal/dataset`, `internal/transform` or
// `internal/record`: it is below the rules that use it.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/jsonkind"
)

// space is the white space JSON allows around values.
const space = " \t\r\n"

// Members calls member for each member of the JSON object raw, in order,
// with the member's name (unescaped) and its raw value (a sub-slice of
// raw, never null-trimmed: null arrives as "null"). It returns why raw is
// not a JSON object ("empty record", "invalid JSON: ...", "not a JSON
// object but a JSON array"), or the first non-empty text member returns,
// which stops the walk; "" when every member was visited.
//
// encoding/json's validator checks the syntax first, so the walk itself
// can be simple; it is about twice as fast as decoding into a struct, and
// a value's text (a number's digits) is never rounded on the way.
func Members(raw []byte, member func(name, value []byte) string) string {
	raw = bytes.Trim(raw, space) // not TrimSpace: "\v{}" is not JSON
	if len(raw) == 0 {
		return "empty record"
	}
	if !json.Valid(raw) {
		var v struct{}
		err := json.Unmarshal(raw, &v) // only to say what is wrong
		return "invalid JSON: " + strings.TrimPrefix(fmt.Sprint(err), "json: ")
	}
	if raw[0] != '{' {
		return "not a JSON object but a JSON " + jsonkind.Of(raw)
	}
	i := skipSpace(raw, 1)
	for raw[i] != '}' {
		keyEnd := skipString(raw, i)
		key := raw[i+1 : keyEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(Unquote(raw[i:keyEnd]))
		}
		i = skipSpace(raw, keyEnd)
		i = skipSpace(raw, i+1) // past ':'
		valEnd := skipValue(raw, i)
		if stop := member(key, raw[i:valEnd]); stop != "" {
			return stop
		}
		i = skipSpace(raw, valEnd)
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return ""
}

// The skip functions walk JSON that json.Valid accepted, so they need not
// check what they skip. Each returns the offset just past what it skipped.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString skips the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's hex digits need no care
		case '"':
			return i + 1
		}
	}
}

// skipValue skips the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// IsNull reports whether a member's value is missing (nil) or null.
func IsNull(v []byte) bool { return len(v) == 0 || (len(v) == 4 && string(v) == "null") }

// Unquote returns the text of a valid JSON string, leniently: as
// encoding/json does, invalid UTF-8 and lone surrogates become U+FFFD. The
// common case (no escapes, valid UTF-8) costs one copy.
func Unquote(v []byte) string {
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		// Unreachable: v was validated by Members.
		return string(body)
	}
	return s
}

// Text returns the text of a valid JSON string strictly: ok is false when
// it holds invalid UTF-8 or a lone surrogate (\ud800), which a lenient
// decode would silently turn into U+FFFD, changing the data.
func Text(v []byte) (s string, ok bool) {
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		if !utf8.Valid(body) {
			return "", false
		}
		return string(body), true
	}
	if !utf8.Valid(body) {
		return "", false
	}
	b := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch body[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(body[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || i+6 >= len(body) || body[i+1] != '\\' || body[i+2] != 'u' {
					return "", false
				}
				r2 := hex4(body[i+3:])
				dec := utf16.DecodeRune(r, r2)
				if dec == utf8.RuneError {
					return "", false
				}
				r = dec
				i += 6
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, body[i])
		}
	}
	return string(b), true
}

// CheckText says why the JSON text v (valid JSON, any value) cannot be
// stored as JSON by every store: invalid UTF-8, a \u0000 escape
// (PostgreSQL's jsonb refuses it) or a lone surrogate; "" when it can.
func CheckText(v []byte) string {
	if !utf8.Valid(v) {
		return "is not valid UTF-8"
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '"' {
			continue
		}
		for i++; v[i] != '"'; i++ {
			if v[i] != '\\' {
				continue
			}
			i++
			if v[i] != 'u' {
				continue
			}
			r := hex4(v[i+1:])
			i += 4
			switch {
			case r == 0:
				return `contains \u0000`
			case utf16.IsSurrogate(r):
				if r >= 0xdc00 || i+6 >= len(v) || v[i+1] != '\\' || v[i+2] != 'u' ||
					utf16.DecodeRune(r, hex4(v[i+3:])) == utf8.RuneError {
					return "contains a lone surrogate"
				}
				i += 6
			}
		}
	}
	return ""
}

// hex4 reads the four hex digits b starts with (validated JSON).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
