package jsonkind

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct{ v, kind, a string }{
		{`{"a":1}`, "object", "an object"},
		{`[1]`, "array", "an array"},
		{`"x"`, "string", "a string"},
		{`true`, "boolean", "a boolean"},
		{`false`, "boolean", "a boolean"},
		{`null`, "null", "null"},
		{`-1`, "number", "a number"},
		{`12.5e3`, "number", "a number"},
		{``, "", ""},
		{`<html>`, "", ""},
	} {
		assert.Equal(t, tc.kind, Of([]byte(tc.v)), tc.v)
		assert.Equal(t, tc.a, A([]byte(tc.v)), tc.v)
	}
}
