package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
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

// HeartbeatEvery is how often a running stage heartbeats: well within
// pipeline.HeartbeatWindow, so that a dead worker is noticed in time and a
// live one never is taken for dead.
const HeartbeatEvery = pipeline.HeartbeatWindow / 4

// heartbeats records a stage's latest checkpoint as its heartbeat every
// HeartbeatEvery, from a goroutine of its own: a long chunk keeps the stage
// alive, and a stage shorter than HeartbeatEvery sends none.
type heartbeats struct {
	mu   sync.Mutex
	cp   pipeline.Checkpoint
	stop func()
}

func startHeartbeats(ctx context.Context, cp pipeline.Checkpoint) *heartbeats {
	h := &heartbeats{cp: cp}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	h.stop = func() { cancel(); wg.Wait() }
	wg.Go(func() {
		t := time.NewTicker(HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				cp := h.cp
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, cp)
			}
		}
	})
	return h
}

// set makes cp the checkpoint the next heartbeat reports.
func (h *heartbeats) set(cp pipeline.Checkpoint) {
	h.mu.Lock()
	h.cp = cp
	h.mu.Unlock()
}
