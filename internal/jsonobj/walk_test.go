package jsonobj

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walked is what a walk saw: its problem, and the members it was called
// with until then.
type walked struct {
	problem       string
	names, values []string
}

// walk runs members over raw, stopping at the member called "stop".
func walk(members func([]byte, func(name, value []byte) string) string, raw []byte) walked {
	var w walked
	w.problem = members(raw, func(name, value []byte) string {
		w.names = append(w.names, string(name))
		w.values = append(w.values, string(value))
		if string(name) == "stop" {
			return "stopped"
		}
		return ""
	})
	if w.problem != "" && w.problem != "stopped" {
		w.names, w.values = nil, nil // a caller drops them (see Members)
	}
	return w
}

// referenceMembers is Members as it was before the walk validated: json.Valid
// first, then a walk that trusts the syntax. The fuzz target holds the
// one-pass walk to it.
func referenceMembers(raw []byte, member func(name, value []byte) string) string {
	raw = bytes.Trim(raw, space)
	if len(raw) == 0 {
		return "empty record"
	}
	if !json.Valid(raw) {
		return invalid(raw)
	}
	if raw[0] != '{' {
		return "not a JSON object but a JSON array, string, ..." + string(raw[:1])
	}
	i := skipSpace(raw, 1)
	for raw[i] != '}' {
		keyEnd := refSkipString(raw, i)
		key := raw[i+1 : keyEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(Unquote(raw[i:keyEnd]))
		}
		i = skipSpace(raw, keyEnd)
		i = skipSpace(raw, i+1)
		valEnd := refSkipValue(raw, i)
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

func refSkipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

func refSkipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return refSkipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = refSkipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// checkWalk holds Members to referenceMembers on raw, and the validator to
// json.Valid on raw as any top-level value.
func checkWalk(t *testing.T, raw []byte) {
	t.Helper()
	got, want := walk(Members, raw), walk(referenceMembers, raw)
	if strings.HasPrefix(want.problem, "not a JSON object") {
		assert.True(t, strings.HasPrefix(got.problem, "not a JSON object"), "%q: %q", raw, got.problem)
		got.problem = want.problem
	}
	assert.Equal(t, want, got, "%q", raw)

	trimmed := bytes.Trim(raw, space)
	valid := len(trimmed) > 0 && scanValue(trimmed, 0, 0) == len(trimmed)
	assert.Equal(t, json.Valid(raw), valid, "%q", raw)
}

var walkSeeds = []string{
	``, ` `, "\v{}", `{}`, ` { } `, `{} x`, `{}}`, `{,}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{"a":1 "b":2}`,
	` {"a" : 1, "\u0062":[1,{"}":"]"}], "c":"x\"y" ,"d":null} `,
	`{"a":1,"stop":2,"c":3}`, `{"stop":1,"c":}`, `{"stop":1,"stop":2}`,
	`{"a":[]}`, `{"a":[ ]}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b":{}}}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`,
	`{"a":0}`, `{"a":-0}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1.5e}`, `{"a":1.5e+}`,
	`{"a":1.5E-07}`, `{"a":1e5}`, `{"a":+1}`, `{"a":--1}`, `{"a":1x}`, `{"a":0x10}`, `{"a":12345678901234567890}`,
	`{"a":true}`, `{"a":tru}`, `{"a":truex}`, `{"a":false}`, `{"a":fals}`, `{"a":null}`, `{"a":nul}`, `{"a":NULL}`,
	`{"a":"\u00e9"}`, `{"a":"\u00g9"}`, `{"a":"\u00"}`, `{"a":"\x"}`, `{"a":"\/\b\f\n\r\t\\\""}`,
	"{\"a\":\"\xff\xfe\"}", "{\"\xc3\":1}", "{\"a\":\"\x1f\"}", "{\"a\":\"\x7f\"}", "{\"a\":1}\x00",
	"{\"a\":1}\u00a0", "\u00a0{}", "{\t\"a\"\r:\n1 }", `{"a":"`, `{"a":"\`, `{"a`, `{"a":[`, `{"a":{`,
	`[1]`, `"x"`, `1`, `null`, `[`, `{`, `{"a":1}{"b":2}`, `{"a":"x"`, `{"\ud800":1}`, `{"\u0000":1}`,
}

func TestWalkMatchesValid(t *testing.T) {
	for _, raw := range walkSeeds {
		checkWalk(t, []byte(raw))
	}
}

// TestWalkDepth checks encoding/json's nesting limit: 10000 levels are
// valid, 10001 are not, however they nest.
func TestWalkDepth(t *testing.T) {
	for _, tc := range []struct {
		open, inner, close string
		levels             int
	}{
		{"[", "", "]", maxDepth - 1}, {"[", "", "]", maxDepth}, {"[", "1", "]", maxDepth + 1},
		{`{"x":`, "1", "}", maxDepth - 1}, {`{"x":`, "[]", "}", maxDepth - 1}, {`{"x":`, "1", "}", maxDepth},
	} {
		raw := []byte(`{"a":` + strings.Repeat(tc.open, tc.levels) + tc.inner + strings.Repeat(tc.close, tc.levels) + `}`)
		want := tc.levels < maxDepth && !(tc.inner == "[]" && tc.levels == maxDepth-1)
		require.Equal(t, want, json.Valid(raw), "json.Valid at %d levels of %s", tc.levels+1, tc.open)
		checkWalk(t, raw)
	}
}

// FuzzMembers holds the one-pass walk to json.Valid's verdicts and to the
// members (and stop) the walk after json.Valid found.
func FuzzMembers(f *testing.F) {
	for _, seed := range walkSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkWalk(t, raw)
		wrapped := append(append([]byte(`{"v":`), raw...), '}')
		checkWalk(t, wrapped)
	})
}
