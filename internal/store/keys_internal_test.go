package store

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// TestKeysTable: the keys' hash table holds every key added, once, however
// far past its reserved share it grows, and holds no other.
func TestKeysTable(t *testing.T) {
	ids := func(from, to int) []transform.Valid {
		var out []transform.Valid
		for i := from; i < to; i++ {
			out = append(out, transform.Valid{Order: record.Order{ID: fmt.Sprintf("id-%d", i)}})
		}
		return out
	}
	for _, c := range []struct {
		name     string
		reserved int64
		keys     int
	}{
		{"none", 0, 0},
		{"within the share", 1000, 700},
		{"past the share: grows", 10, 5000},
		{"nothing reserved", 0, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newKeys(1, c.reserved)
			k.Add(ids(0, c.keys))
			k.Add(ids(0, c.keys/2)) // again: not counted twice
			assert.Equal(t, c.keys, k.Len())
			assert.LessOrEqual(t, k.Len(), len(k.set)/4*3, "at most three quarters full")
			for _, v := range ids(0, c.keys) {
				if !k.has(v.ID()) {
					t.Fatalf("key %q added but not held", v.ID())
				}
			}
			for _, v := range ids(c.keys, c.keys+1000) {
				if k.has(v.ID()) {
					t.Fatalf("key %q held but never added", v.ID())
				}
			}
		})
	}
}
