package suggest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/suggest"
)

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"batchsize", "batch_size", 1}, {"abc", "abc", 0}, {"ab", "ba", 2},
	} {
		assert.Equal(t, tt.d, suggest.Distance(tt.a, tt.b), "%q %q", tt.a, tt.b)
		assert.Equal(t, tt.d, suggest.Distance(tt.b, tt.a), "symmetric")
	}
}

func TestDidYouMean(t *testing.T) {
	params := []string{"batch_size", "source_url"}
	for _, tt := range []struct {
		name string
		want string
	}{
		{"batchsize", `; did you mean "batch_size"?`},
		{"BATCH_SIZE", `; did you mean "batch_size"?`},
		{"sorce_url", `; did you mean "source_url"?`},
		{"source", `; did you mean "source_url"?`},
		{"url", `; did you mean "source_url"?`},
		{"zzz", ""},
		{"", ""},
	} {
		assert.Equal(t, tt.want, suggest.DidYouMean(tt.name, params), tt.name)
	}
	assert.Empty(t, suggest.DidYouMean("anything", nil))
}
