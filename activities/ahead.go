package activities

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// ahead runs produce in a goroutine of its own, one item ahead of consume:
// while consume commits an item, produce prepares the next. Items reach
// consume in the order produce emits them. emit returns false once
// consume has failed, and produce should then return. ahead returns
// consume's error if it failed, else produce's; it returns only once
// produce has returned.
func ahead[T any](ctx context.Context, produce func(ctx context.Context, emit func(T) bool) error, consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan T) // unbuffered: one item in produce's hands, one in consume's
	done := make(chan error, 1)
	go func() {
		defer close(items)
		done <- produce(ctx, func(v T) bool {
			select {
			case items <- v:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for v := range items {
		if err := consume(v); err != nil {
			cancel()
			for range items { // let produce see the cancellation and return
			}
			<-done
			return err
		}
	}
	return <-done
}

// checkWorkers is how many staged chunks Transform reads and checks at
// once (aheadEach): one per core, and one more, so that the cores stay
// busy checking while the chunk before commits. Checking is most of
// Transform's work.
func checkWorkers() int { return runtime.GOMAXPROCS(0) + 1 }

// loadWorkers is how many staged chunks Load reads and normalises at once
// (aheadEach): one ahead of the upserts, which are most of Load's work and
// the slower part, and one more while the upserts wait. More would take
// the cores the upserts need.
const loadWorkers = 2

// aheadEach prepares the items from..to-1 in up to workers goroutines at
// once, ahead of consume, which gets each item, in order, as soon as it
// and the ones before it are ready. It is ahead for work whose items do not
// depend on each other (reading and checking a staged chunk): on a worker
// with two cores, checking the records takes two goroutines to keep up with
// the commits. No more than workers items are prepared or waiting at a
// time, so memory stays bounded. It returns the first error in item order,
// prepare's or consume's, and only once every prepare it started has
// returned.
func aheadEach[T any](ctx context.Context, from, to, workers int, prepare func(ctx context.Context, i int) (T, error), consume func(T) error) error {
	if from >= to {
		return nil
	}
	workers = max(1, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	// One channel per item, queued in item order: its capacity bounds the
	// items prepared or waiting, and each prepare sends exactly once.
	queue := make(chan chan result, workers-1)
	var wg sync.WaitGroup
	go func() {
		defer close(queue)
		for i := from; i < to; i++ {
			out := make(chan result, 1)
			select {
			case queue <- out:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				v, err := prepare(ctx, i)
				out <- result{v, err}
			})
		}
	}()
	var failed error
	for out := range queue {
		r := <-out
		if failed != nil {
			continue // draining: every prepare started sends once
		}
		err := r.err
		if err == nil {
			err = consume(r.v)
		}
		if err != nil {
			failed = err
			cancel()
		}
	}
	wg.Wait()
	return failed
}

// inTurn runs up to n writes of a stage's chunks at once and counts them
// one by one, in chunk order (count): a chunk's write gets a turn
// (store.Turn) that lets it commit once the chunk before it is counted,
// so the writes' slow part runs side by side and the commits, counts,
// heartbeats and gates stay in order. Every start must be followed by
// finish, which returns only once every write has.
type inTurn[T any] struct {
	n       int
	count   func(T) error
	wg      sync.WaitGroup
	pending []*turnWrite[T] // started, not yet counted, in chunk order
	last    *turnWrite[T]
}

type turnWrite[T any] struct {
	v     T
	err   error
	done  chan struct{} // the write returned (err is set)
	ended chan struct{} // the chunk is counted (ok) or never will be: the next write may go on
	ok    bool
}

// errTurnLost is the turn of a write whose chunk before it did not commit
// or was not counted: the write rolls back, and the stage's first error
// says why.
var errTurnLost = errors.New("the chunk before it was not committed")

// start begins write(v) with its turn in a goroutine of its own, then
// counts the oldest writes until fewer than n are pending; it returns the
// first error of those.
func (q *inTurn[T]) start(v T, write func(turn store.Turn) error) error {
	w := &turnWrite[T]{v: v, done: make(chan struct{}), ended: make(chan struct{})}
	prev := q.last
	q.last = w
	turn := func(ctx context.Context) error {
		if prev == nil {
			return nil
		}
		select {
		case <-prev.ended:
			if !prev.ok {
				return errTurnLost
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	q.wg.Go(func() {
		defer close(w.done)
		w.err = write(turn)
	})
	q.pending = append(q.pending, w)
	for len(q.pending) >= max(1, q.n) {
		if err := q.countOldest(); err != nil {
			return err
		}
	}
	return nil
}

func (q *inTurn[T]) countOldest() error {
	w := q.pending[0]
	q.pending = q.pending[1:]
	<-w.done
	err := w.err
	if err == nil {
		err = q.count(w.v)
	}
	w.ok = err == nil
	close(w.ended)
	return err
}

// finish counts the writes still pending, in order, while err is nil; once
// there is an error, the writes after it roll back. It returns the first
// error, after every write has returned.
func (q *inTurn[T]) finish(err error) error {
	for len(q.pending) > 0 {
		if err == nil {
			err = q.countOldest()
			continue
		}
		w := q.pending[0]
		q.pending = q.pending[1:]
		close(w.ended) // not ok: the write after it rolls back
		<-w.done
	}
	q.wg.Wait()
	return err
}

// HeartbeatEvery is how often a running stage heartbeats when no chunk
// committed meanwhile: well within runinfo.HeartbeatWindow, so that a
// dead worker is noticed in time and a live one in a long chunk (a slow
// paged source) is never taken for dead.
const HeartbeatEvery = runinfo.HeartbeatWindow / 4

// heartbeats sends a stage's checkpoint as its heartbeat: after every
// committed chunk but the last (beat), and every HeartbeatEvery from a
// goroutine of its own. The SDK sends the first heartbeat of an attempt at
// once, a call to the server, and throttles the rest; a one-chunk stage
// (most daily runs) sends none.
type heartbeats struct {
	ctx    context.Context
	mu     sync.Mutex
	cp     datapipeline.Checkpoint
	sendMu sync.Mutex // one RecordHeartbeat at a time
	stop   func()
}

func startHeartbeats(ctx context.Context, cp datapipeline.Checkpoint) *heartbeats {
	h := &heartbeats{ctx: ctx, cp: cp}
	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	h.stop = func() { cancel(); wg.Wait() }
	wg.Go(func() {
		t := time.NewTicker(HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				cp := h.cp
				h.mu.Unlock()
				h.send(cp)
			}
		}
	})
	return h
}

// set makes cp the checkpoint the next timed heartbeat reports.
func (h *heartbeats) set(cp datapipeline.Checkpoint) {
	h.mu.Lock()
	h.cp = cp
	h.mu.Unlock()
}

// beat sets cp and heartbeats it now.
func (h *heartbeats) beat(cp datapipeline.Checkpoint) {
	h.set(cp)
	h.send(cp)
}

// committed reports a stage's progress after a chunk's commit: at once for
// any chunk but the last, whose progress the activity's completion reports
// (a one-chunk run then pays for no heartbeat).
func (h *heartbeats) committed(cp datapipeline.Checkpoint, last bool) {
	if last {
		h.set(cp)
		return
	}
	h.beat(cp)
}

func (h *heartbeats) send(cp datapipeline.Checkpoint) {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	activity.RecordHeartbeat(h.ctx, cp)
}
