package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/store"
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

// TestInTurn: writes run side by side, up to n at once, and commit and are
// counted in chunk order; after a failed write or count, the writes after
// it roll back at their turn, and finish returns the first error once
// every write has returned.
func TestInTurn(t *testing.T) {
	errWrite, errCount := errors.New("write 1 failed"), errors.New("count of 0 failed")
	tests := []struct {
		name        string
		n, writes   int
		failWrite   int // -1: none
		failCount   int // -1: none
		wantErr     error
		wantCounted []int
		wantLost    []int // writes whose turn said the chunk before was lost
	}{
		{"two at once, all commit", 2, 5, -1, -1, nil, []int{0, 1, 2, 3, 4}, nil},
		{"one at a time, all commit", 1, 3, -1, -1, nil, []int{0, 1, 2}, nil},
		{"a write fails", 2, 4, 1, -1, errWrite, []int{0}, []int{2}},
		{"a count fails", 2, 4, -1, 0, errCount, nil, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu               sync.Mutex
				counted, lost    []int
				running, maxRuns int
			)
			started := make([]chan struct{}, tt.writes)
			for i := range started {
				started[i] = make(chan struct{})
			}
			q := &inTurn[int]{n: tt.n, count: func(i int) error {
				if i == tt.failCount {
					return errCount
				}
				counted = append(counted, i)
				return nil
			}}
			var err error
			for i := range tt.writes {
				err = q.start(i, func(turn store.Turn) error {
					mu.Lock()
					running++
					maxRuns = max(maxRuns, running)
					mu.Unlock()
					defer func() { mu.Lock(); running--; mu.Unlock() }()
					close(started[i])
					// With two at once, write 0 waits until write 1 has
					// begun: they overlap.
					if tt.n > 1 && i == 0 {
						select {
						case <-started[1]:
						case <-time.After(time.Minute):
							t.Error("write 1 did not begin beside write 0")
						}
					}
					if err := turn(context.Background()); err != nil {
						mu.Lock()
						lost = append(lost, i)
						mu.Unlock()
						return err
					}
					if i == tt.failWrite {
						return errWrite
					}
					return nil
				})
				if err != nil {
					break
				}
			}
			err = q.finish(err)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			assert.Equal(t, tt.wantCounted, counted)
			assert.Equal(t, tt.wantLost, lost)
			assert.Equal(t, tt.n, maxRuns, "writes at once")
		})
	}
}
