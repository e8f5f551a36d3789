// Package gate lets an end-to-end test hold a worker process at a named
// point of an activity, look at the run or act on it (kill the worker,
// restart the server, send SIGTERM) and then let it go on. It is how such
// a test acts "in the middle of Transform" deterministically: polling for
// that moment from outside may never see it on a fast machine, or see it
// too late on a loaded one.
//
// Gates live in a directory that the test names in the worker's
// environment (EnvDir); without it every gate is open and At costs
// nothing. A point is held while the file POINT.hold exists: an activity
// that reaches it writes POINT.reached, then waits until the hold is
// removed or its context ends.
//
// It imports nothing of blueprint.
package gate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnvDir is the worker's environment variable naming the gates'
// directory. Only tests set it.
const EnvDir = "BLUEPRINT_TEST_GATE_DIR"

// checkEvery is how often a held activity looks whether it was released.
const checkEvery = 10 * time.Millisecond

// Dir is a directory of gates; "" holds nothing.
type Dir string

// FromEnv returns the directory EnvDir names ("" when it is unset).
func FromEnv() Dir { return Dir(os.Getenv(EnvDir)) }

// Chunk names the point right after attempt's commit of a stage's chunk
// number chunks (counted from 1) of the run workflowID.
func Chunk(workflowID, stage string, attempt int32, chunks int) string {
	return fmt.Sprintf("%s.%s.attempt-%d.chunk-%d", fileSafe(workflowID), stage, attempt, chunks)
}

// Activity names the point at the start of every attempt of the activity
// of type activityType in the run workflowID, before the activity's own
// code runs (the worker holds it, whatever the flow): a test that holds it
// looks at the run while that activity is in progress.
func Activity(workflowID, activityType string) string {
	return fmt.Sprintf("%s.activity-%s", fileSafe(workflowID), fileSafe(activityType))
}

// fileSafe makes a workflow ID or a name usable in a gate's file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == 0 {
			return '_'
		}
		return r
	}, s)
}

func (d Dir) file(point, ext string) string { return filepath.Join(string(d), point+"."+ext) }

// At holds the caller at point while the point is held, after saying so
// (Reached). It returns ctx's error if ctx ends first.
func (d Dir) At(ctx context.Context, point string) error {
	if d == "" {
		return nil
	}
	if !d.held(point) {
		return nil
	}
	if err := os.WriteFile(d.file(point, "reached"), nil, 0o644); err != nil {
		return fmt.Errorf("gate %s: %w", point, err)
	}
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for d.held(point) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (d Dir) held(point string) bool {
	_, err := os.Stat(d.file(point, "hold"))
	return err == nil
}

// Hold arms the gate at point: the next activity to reach it waits there.
func (d Dir) Hold(point string) error {
	if err := os.WriteFile(d.file(point, "hold"), nil, 0o644); err != nil {
		return fmt.Errorf("hold gate %s: %w", point, err)
	}
	return nil
}

// Release lets whatever waits at point go on, and whatever reaches it
// later pass.
func (d Dir) Release(point string) error {
	if err := os.Remove(d.file(point, "hold")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release gate %s: %w", point, err)
	}
	return nil
}

// Reached reports whether an activity has reached the held point: it
// waits there until Release, or has since gone on.
func (d Dir) Reached(point string) bool {
	_, err := os.Stat(d.file(point, "reached"))
	return err == nil
}

// Wait waits until every point is reached, or ctx ends.
func (d Dir) Wait(ctx context.Context, points ...string) error {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for _, p := range points {
		for !d.Reached(p) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("gate %s never reached: %w", p, ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}
