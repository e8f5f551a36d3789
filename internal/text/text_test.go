package text_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/text"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"héllo", 2, "h"}, // é is 2 bytes: never half of it
		{"héllo", 3, "hé"},
		{"日本", 4, "日"},
		{"日本", 2, ""},
	} {
		assert.Equal(t, tc.want, text.Cut(tc.in, tc.n), "%q %d", tc.in, tc.n)
		assert.Equal(t, tc.want, string(text.Cut([]byte(tc.in), tc.n)), "%q %d as bytes", tc.in, tc.n)
	}
}
