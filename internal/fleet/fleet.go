// Package fleet tells which workers serve a task queue, which of them are
// alive, and which warehouse each one writes to. The CLI talks only to
// Temporal, so all of it comes from the task queue's pollers.
//
// Liveness. The server lists a poller for minutes after its last poll, so
// "listed" does not mean "alive". What is true: the server stamps a
// poller's last-access time when one of its long polls starts and when it
// ends (a poll ends with a task, at the long-poll expiry, one minute by
// default, or when the worker's connection closes). A live worker, even
// idle, therefore always has a stamp at most one long-poll interval old,
// while a dead process's last stamp is its death. A worker is offline when
// its last stamp is older than OfflineAfter, which must exceed the server's
// matching.longPollExpirationInterval (1 minute by default).
//
// Warehouse. Each worker puts a fingerprint of its warehouse in its
// identity ("4242@host wh=1a2b3c4d"); workers of one task queue with
// different fingerprints write to different warehouses, and a run's
// stages would not find each other's staged data.
//
// It imports nothing of blueprint.
package fleet

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// DefaultOfflineAfter is how long after its last poll a worker counts as
// offline: the server's default long-poll expiry (60 s) plus a margin, so
// that a live idle worker never shows offline and a killed one does within
// 75 s.
const DefaultOfflineAfter = 75 * time.Second

// OfflineAfterEnv overrides DefaultOfflineAfter (a Go duration), for a
// server whose long-poll expiry differs, and for tests.
const OfflineAfterEnv = "BLUEPRINT_WORKER_OFFLINE_AFTER"

// OfflineAfter returns the threshold in effect.
func OfflineAfter() (time.Duration, error) {
	v := os.Getenv(OfflineAfterEnv)
	if v == "" {
		return DefaultOfflineAfter, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: must be a positive duration like 75s", OfflineAfterEnv, v)
	}
	return d, nil
}

// warehouseTag separates a worker's identity from its warehouse
// fingerprint.
const warehouseTag = " wh="

// Identity is the identity a worker polls with: the SDK's usual
// pid@host, then its warehouse's fingerprint.
func Identity(warehouseFingerprint string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%d@%s%s%s", os.Getpid(), host, warehouseTag, warehouseFingerprint)
}

// WarehouseOf reads the warehouse fingerprint from an identity; "" for a
// worker that does not say (another program, an older blueprint worker).
func WarehouseOf(identity string) string {
	_, fp, ok := strings.Cut(identity, warehouseTag)
	if !ok {
		return ""
	}
	return fp
}

// Worker is one worker seen on a task queue.
type Worker struct {
	Identity string `json:"identity"`
	// Warehouse is the fingerprint of its warehouse, "" if unknown.
	Warehouse string `json:"warehouse,omitempty"`
	// LastSeen is the latest poll of any kind.
	LastSeen time.Time `json:"last_seen"`
	// Online: LastSeen is within OfflineAfter of now.
	Online bool `json:"online"`
	// Polls is what it polls: "workflow", "activity" or both.
	Polls []string `json:"polls"`
}

// Queue is what the server knows of the workers of a task queue.
type Queue struct {
	Name    string   `json:"task_queue"`
	Workers []Worker `json:"workers"`
}

// Describe lists the workers seen on a task queue (workflow and activity
// pollers merged by identity), sorted by identity, each marked online or
// offline against offlineAfter at now.
func Describe(ctx context.Context, c client.Client, queue string, offlineAfter time.Duration, now time.Time) (Queue, error) {
	byID := map[string]*Worker{}
	for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := c.DescribeTaskQueue(ctx, queue, kind)
		if err != nil {
			return Queue{}, fmt.Errorf("describe task queue %s: %w", queue, err)
		}
		name := strings.ToLower(strings.TrimPrefix(kind.String(), "TASK_QUEUE_TYPE_"))
		for _, p := range resp.GetPollers() {
			w, ok := byID[p.GetIdentity()]
			if !ok {
				w = &Worker{Identity: p.GetIdentity(), Warehouse: WarehouseOf(p.GetIdentity())}
				byID[p.GetIdentity()] = w
			}
			w.Polls = append(w.Polls, name)
			if t := p.GetLastAccessTime().AsTime(); t.After(w.LastSeen) {
				w.LastSeen = t
			}
		}
	}
	q := Queue{Name: queue, Workers: make([]Worker, 0, len(byID))}
	for _, w := range byID {
		w.Online = now.Sub(w.LastSeen) <= offlineAfter
		q.Workers = append(q.Workers, *w)
	}
	slices.SortFunc(q.Workers, func(a, b Worker) int { return strings.Compare(a.Identity, b.Identity) })
	return q, nil
}

// Online returns the live workers.
func (q Queue) Online() []Worker {
	var out []Worker
	for _, w := range q.Workers {
		if w.Online {
			out = append(out, w)
		}
	}
	return out
}

// Offline returns the workers that stopped polling.
func (q Queue) Offline() []Worker {
	var out []Worker
	for _, w := range q.Workers {
		if !w.Online {
			out = append(out, w)
		}
	}
	return out
}

// LastSeen is the latest poll of any worker, zero when none was seen.
func (q Queue) LastSeen() time.Time {
	var t time.Time
	for _, w := range q.Workers {
		if w.LastSeen.After(t) {
			t = w.LastSeen
		}
	}
	return t
}

// Warehouses groups the live workers by warehouse fingerprint, in order
// of the fingerprints. More than one group means the task queue's runs
// can land their stages on different warehouses. Workers that do not say
// are left out.
func (q Queue) Warehouses() map[string][]string {
	out := map[string][]string{}
	for _, w := range q.Online() {
		if w.Warehouse != "" {
			out[w.Warehouse] = append(out[w.Warehouse], w.Identity)
		}
	}
	return out
}

// MixedWarehouses describes the warehouses of a task queue's live workers
// when they are not all the same one, "" otherwise: "wh=1a2b3c4d
// (4242@a), wh=5e6f7a8b (5151@b)".
func (q Queue) MixedWarehouses() string {
	groups := q.Warehouses()
	if len(groups) < 2 {
		return ""
	}
	fps := make([]string, 0, len(groups))
	for fp := range groups {
		fps = append(fps, fp)
	}
	slices.Sort(fps)
	parts := make([]string, 0, len(fps))
	for _, fp := range fps {
		names := make([]string, 0, len(groups[fp]))
		for _, id := range groups[fp] {
			name, _, _ := strings.Cut(id, warehouseTag)
			names = append(names, name)
		}
		parts = append(parts, fmt.Sprintf("wh=%s (%s)", fp, strings.Join(names, ", ")))
	}
	return strings.Join(parts, ", ")
}
