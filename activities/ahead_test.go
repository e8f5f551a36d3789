package activities

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAhead(t *testing.T) {
	count := func(n int, fail error) func(context.Context, func(int) bool) error {
		return func(_ context.Context, emit func(int) bool) error {
			for i := range n {
				if !emit(i) {
					return nil
				}
			}
			return fail
		}
	}
	t.Run("in order", func(t *testing.T) {
		var got []int
		require.NoError(t, ahead(context.Background(), count(5, nil), func(v int) error { got = append(got, v); return nil }))
		assert.Equal(t, []int{0, 1, 2, 3, 4}, got)
	})
	t.Run("produce fails after its items", func(t *testing.T) {
		boom := errors.New("source down")
		var got []int
		err := ahead(context.Background(), count(3, boom), func(v int) error { got = append(got, v); return nil })
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, []int{0, 1, 2}, got, "what was produced before the failure is consumed")
	})
	t.Run("consume fails: produce stops", func(t *testing.T) {
		boom := errors.New("commit failed")
		stopped := false
		err := ahead(context.Background(), func(ctx context.Context, emit func(int) bool) error {
			for i := 0; ; i++ {
				if !emit(i) {
					stopped = true
					return ctx.Err()
				}
			}
		}, func(v int) error {
			if v == 2 {
				return boom
			}
			return nil
		})
		assert.ErrorIs(t, err, boom, "the consumer's error, not the cancellation")
		assert.True(t, stopped, "produce has returned when ahead returns")
	})
}
