// Package jsonobj walks the members of one JSON object (a raw record) in a
// single validating pass, without decoding it into a map or a struct: the
// one walker that orders' Transform and a dataset's normaliser share, so
// both see the same members and refuse the same malformed records.
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
// which stops the calls (the rest of raw is still validated); "" when
// every member was visited.
//
// The walk validates as it goes, in one pass, exactly as json.Valid does
// (see walkObject), so member may have been called for the first members
// of a record that then turns out invalid: a caller drops what it
// collected whenever Members returns a problem. Only on that error path
// does encoding/json run again, to say what is wrong in its words.
func Members(raw []byte, member func(name, value []byte) string) string {
	raw = bytes.Trim(raw, space) // not TrimSpace: "\v{}" is not JSON
	if len(raw) == 0 {
		return "empty record"
	}
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return invalid(raw)
		}
		return "not a JSON object but a JSON " + jsonkind.Of(raw)
	}
	stop, ok := walkObject(raw, member)
	if !ok {
		return invalid(raw)
	}
	return stop
}

// invalid says what is wrong with raw, which json.Valid refuses, in
// encoding/json's words.
func invalid(raw []byte) string {
	var v struct{}
	err := json.Unmarshal(raw, &v) // only to say what is wrong
	return "invalid JSON: " + strings.TrimPrefix(fmt.Sprint(err), "json: ")
}

// maxDepth is encoding/json's limit on nested objects and arrays: its
// validator refuses the 10001st level.
const maxDepth = 10000

// walkObject walks raw, trimmed of white space and starting with '{', as
// encoding/json's scanner (json.Valid) would: the same grammar, the same
// nesting limit, and its view of text, under which a string may hold any
// byte from 0x20 on (invalid UTF-8 included) but no control byte. It calls
// member with each top-level member until member returns a stop text; ok
// is false when raw is not valid JSON.
func walkObject(raw []byte, member func(name, value []byte) string) (stop string, ok bool) {
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == '}' {
		return "", i+1 == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return "", false
		}
		keyEnd, escaped := scanString(raw, i)
		if keyEnd < 0 {
			return "", false
		}
		keyStart := i
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return "", false
		}
		i = skipSpace(raw, i+1)
		valEnd := scanValue(raw, i, 1)
		if valEnd < 0 {
			return "", false
		}
		if stop == "" {
			key := raw[keyStart+1 : keyEnd-1]
			if escaped {
				key = []byte(Unquote(raw[keyStart:keyEnd]))
			}
			stop = member(key, raw[i:valEnd])
		}
		i = skipSpace(raw, valEnd)
		if i >= len(raw) {
			return "", false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return stop, i+1 == len(raw)
		default:
			return "", false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plain marks the bytes a JSON string holds as they are, for
// encoding/json: any but a control byte, '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString checks the string starting at b[i] == '"' and returns the
// offset just past it, -1 if it is not valid JSON, and whether it holds
// an escape.
func scanString(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1, false
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		default: // a control byte
			return -1, false
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanValue checks the value starting at b[i], nested in depth objects
// and arrays, and returns the offset just past it, or -1 if it is not
// valid JSON.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{':
		if depth++; depth > maxDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i, _ = scanString(b, i); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = scanValue(b, skipSpace(b, i+1), depth); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case '}':
				return i + 1
			default:
				return -1
			}
		}
	case '[':
		if depth++; depth > maxDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = scanValue(b, i, depth); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case ']':
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

// literal checks that b holds word at i.
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// scanNumber checks the number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		if i++; i >= len(b) {
			return -1
		}
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		start := i + 1
		if i = digits(b, start); i == start {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = digits(b, start); i == start {
			return -1
		}
	}
	return i
}

// digits returns the offset past the run of digits starting at b[i].
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
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
