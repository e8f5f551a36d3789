package jsonobj

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestMembers(t *testing.T) {
	var names, values []string
	problem := Members([]byte(` {"a" : 1, "\u0062":[1,{"}":"]"}], "c":"x\"y" ,"d":null} `), func(name, value []byte) string {
		names = append(names, string(name))
		values = append(values, string(value))
		return ""
	})
	assert.Empty(t, problem)
	assert.Equal(t, []string{"a", "b", "c", "d"}, names)
	assert.Equal(t, []string{"1", `[1,{"}":"]"}]`, `"x\"y"`, "null"}, values)

	assert.Equal(t, "stop", Members([]byte(`{"a":1,"b":2}`), func(name, _ []byte) string {
		if string(name) == "b" {
			return "stop"
		}
		return ""
	}))
	for raw, want := range map[string]string{
		"":     "empty record",
		"\v{}": "invalid JSON",
		"[]":   "not a JSON object but a JSON array",
		"{} x": "invalid JSON",
	} {
		assert.Contains(t, Members([]byte(raw), func(_, _ []byte) string { return "" }), want, raw)
	}
}

func TestText(t *testing.T) {
	for _, v := range []string{`""`, `"abc"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00x"`, `"Ünï"`, `"\u0000"`} {
		s, ok := Text([]byte(v))
		assert.True(t, ok, v)
		var want string
		assert.NoError(t, json.Unmarshal([]byte(v), &want))
		assert.Equal(t, want, s, v)
		assert.Equal(t, want, Unquote([]byte(v)), v)
		if v == `"\u0000"` {
			assert.Equal(t, `contains \u0000`, CheckText([]byte(v)))
		} else {
			assert.Empty(t, CheckText([]byte(v)), v)
		}
	}
	for _, v := range []string{"\"\xff\"", `"\ud800"`, `"\udc00\ud800"`, `"\ud83dx"`, `"\ud83d\u0041"`} {
		_, ok := Text([]byte(v))
		assert.False(t, ok, v)
		assert.NotEmpty(t, CheckText([]byte(v)), v)
		assert.True(t, utf8.ValidString(Unquote([]byte(v))), "Unquote is lenient")
	}
	assert.Equal(t, `contains \u0000`, CheckText([]byte(`{"a":["\u0000"]}`)))
	assert.Empty(t, CheckText([]byte(`{"\\u0000":"\\"}`)), "an escaped backslash is no escape")
}
