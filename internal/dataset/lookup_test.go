package dataset

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLookup checks that a declared name is found from any starting
// position, whether Rules scan their names (few fields) or hash them
// (many), and that members in any order normalise alike.
func TestLookup(t *testing.T) {
	for _, n := range []int{1, 3, maxScan, maxScan + 1, 40} {
		d := Definition{Name: "wide", Key: []string{"f0"}}
		for i := range n {
			d.Fields = append(d.Fields, Field{Name: fmt.Sprintf("f%d", i), Type: Integer, Required: true})
		}
		r, err := Compile(d)
		require.NoError(t, err)
		assert.Equal(t, n <= maxScan, r.names != nil, "%d fields", n)
		for from := 0; from <= n; from++ {
			for i, f := range d.Fields {
				assert.Equal(t, i, r.lookup([]byte(f.Name), from), "%s from %d", f.Name, from)
			}
			assert.Equal(t, -1, r.lookup([]byte("f"), from))
			assert.Equal(t, -1, r.lookup([]byte(""), from))
			assert.Equal(t, -1, r.lookup([]byte("F0"), from))
		}

		var forward, backward []byte
		want := make([]Value, n)
		for i := range n {
			forward = fmt.Appendf(forward, `,"f%d":%d`, i, i)
			backward = fmt.Appendf(backward, `,"f%d":%d`, n-1-i, n-1-i)
			want[i] = int64(i)
		}
		for _, members := range [][]byte{forward, backward} {
			raw := append([]byte(`{"x":1`), members...)
			row, reason, detail := r.Normalize(append(raw, '}'))
			require.Empty(t, reason, detail)
			assert.Equal(t, want, row.Values)
			_, reason, detail = r.Normalize(append(append(raw, `,"f0":0`...), '}'))
			assert.Equal(t, ReasonMalformed, reason)
			assert.Equal(t, `member "f0" appears more than once`, detail)
		}
	}
}

// TestHashValuesPinned pins hashValues: the hash is stored with each row,
// so a faster hashValues must give the same numbers.
func TestHashValuesPinned(t *testing.T) {
	values := []Value{nil, "", "SKU-1", int64(-3), int64(1 << 40), true, false,
		time.Date(2024, 3, 1, 8, 0, 0, 123, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
	assert.Equal(t, int64(8749414058566961600), hashValues(values))
	assert.Equal(t, int64(-3750763034362895579), hashValues(nil))
}

// TestCanonicalIn checks that canonicalIn is Dec.String, whether or not
// it can reuse the text the decimal was read from.
func TestCanonicalIn(t *testing.T) {
	for _, s := range []string{"0", "-0", "0.0", "-0.00", "00", "12.5", "12.50", "012.5", "+12.5", "-12.5",
		"-12.50", "-012", "0.05", ".5", "5.", "1e3", "1.5e0", "1.50e0", "-1.5E+1", "1.25e-1", "100", "100.000", "7"} {
		d, problem := ParseDecimal(s)
		if e := strings.IndexAny(s, "eE"); e >= 0 {
			var rule string
			d, rule, problem = (&fieldRules{maxIntDigits: 10, maxScale: 10}).parseDecimal(s)
			problem += rule
		}
		if problem != "" {
			continue
		}
		assert.Equal(t, d.String(), canonicalIn(s, d), s)
	}
}
