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
				if !k.seenBefore(0, v.ID()) {
					t.Fatalf("key %q added but not held", v.ID())
				}
			}
			for _, v := range ids(c.keys, c.keys+1000) {
				if k.seenBefore(0, v.ID()) {
					t.Fatalf("key %q held but never added", v.ID())
				}
			}
		})
	}
}

// TestKeysRemember: the keys a stage_ids chunk kept count as seen for the
// chunk after it only, beside those held in memory.
func TestKeysRemember(t *testing.T) {
	k := newKeys(1, 4)
	k.Add([]transform.Valid{{Order: record.Order{ID: "in-memory"}}})
	k.remember(3, []transform.Valid{{Order: record.Order{ID: "a"}}, {Order: record.Order{ID: "b"}}})
	for _, tt := range []struct {
		seq  int
		key  string
		want bool
	}{
		{4, "a", true}, {4, "b", true}, {4, "c", false}, {4, "in-memory", true},
		{5, "a", false}, {3, "a", false}, {5, "in-memory", true},
	} {
		assert.Equal(t, tt.want, k.seenBefore(tt.seq, tt.key), "chunk %d, key %s", tt.seq, tt.key)
	}
	k.remember(4, []transform.Valid{{Order: record.Order{ID: "c"}}})
	assert.False(t, k.seenBefore(5, "a"), "only the chunk before's")
	assert.True(t, k.seenBefore(5, "c"))
	var none *Keys
	none.remember(1, []transform.Valid{{Order: record.Order{ID: "a"}}})
	assert.False(t, none.seenBefore(2, "a"))
}
