package names_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/names"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"production-etl", true},
		{"a", true},
		{"9", true},
		{"etl-2", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-etl", false},
		{"etl-", false},
		{"Prod", false},
		{"prod_etl", false},
		{"prod.etl", false},
		{"prod etl", false},
		{"prod/etl", false},
		{"é", false},
	} {
		assert.Equal(t, tc.want, names.Valid(tc.in), "%q", tc.in)
	}
}
