package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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

func TestAheadEach(t *testing.T) {
	square := func(_ context.Context, i int) (int, error) { return i * i, nil }
	t.Run("in order, from the first item asked for", func(t *testing.T) {
		for _, workers := range []int{0, 1, 2, 3, 8} {
			var got []int
			require.NoError(t, aheadEach(context.Background(), 2, 7, workers, square, func(v int) error { got = append(got, v); return nil }))
			assert.Equal(t, []int{4, 9, 16, 25, 36}, got, "workers=%d", workers)
		}
	})
	t.Run("no items", func(t *testing.T) {
		err := aheadEach(context.Background(), 3, 3, 2, func(context.Context, int) (int, error) {
			t.Error("prepare called")
			return 0, nil
		}, func(int) error { t.Error("consume called"); return nil })
		require.NoError(t, err)
	})
	t.Run("items are prepared in parallel, at most workers at a time", func(t *testing.T) {
		// Items 0 and 1 each wait until the other has started: they only
		// both finish if they are prepared at the same time.
		const workers = 3
		started := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		var mu sync.Mutex
		inFlight, most := 0, 0
		var got []int
		// A bound on a failure only: one at a time, items 0 and 1 would
		// wait for each other for ever.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := aheadEach(ctx, 0, 20, workers, func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			if i < 2 {
				close(started[i])
				select {
				case <-started[1-i]:
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
			return i, nil
		}, func(v int) error { got = append(got, v); return nil })
		require.NoError(t, err)
		assert.Len(t, got, 20)
		assert.LessOrEqual(t, most, workers)
	})
	t.Run("a failed item ends the items after the ones before it", func(t *testing.T) {
		boom := errors.New("chunk 3 unreadable")
		var got []int
		err := aheadEach(context.Background(), 0, 10, 2, func(_ context.Context, i int) (int, error) {
			if i == 3 {
				return 0, boom
			}
			return i, nil
		}, func(v int) error { got = append(got, v); return nil })
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, []int{0, 1, 2}, got)
	})
	t.Run("consume fails: no more items are prepared, and every prepare has returned", func(t *testing.T) {
		boom := errors.New("commit failed")
		var mu sync.Mutex
		running, prepared := 0, 0
		err := aheadEach(context.Background(), 0, 1000, 2, func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			running++
			prepared++
			mu.Unlock()
			defer func() { mu.Lock(); running--; mu.Unlock() }()
			return i, nil
		}, func(v int) error {
			if v == 2 {
				return boom
			}
			return nil
		})
		assert.ErrorIs(t, err, boom)
		mu.Lock()
		defer mu.Unlock()
		assert.Zero(t, running, "aheadEach returned while a prepare ran")
		assert.Less(t, prepared, 10, "items were prepared after the failure")
	})
}
