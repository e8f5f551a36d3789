//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
)

// httpQueue is the task queue of the worker that reads HTTP sources with a
// short timeout and a small response limit.
const httpQueue = "e2e-http"

// HTTP source limits of that worker.
const (
	httpTimeout      = time.Second
	maxResponseBytes = 1 << 20
)

// order is a valid record of an HTTP or file source.
func order(id string) string {
	return fmt.Sprintf(`{"id":%q,"customer_email":"buyer.%s@example.com","category":"books","amount":"12.50","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, id, id)
}

// ordersJSON is a JSON array of n valid records.
func ordersJSON(prefix string, n int) string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = order(fmt.Sprintf("%s-%d", prefix, i))
	}
	return "[" + strings.Join(recs, ",") + "]"
}

// hits records when an HTTP handler was called.
type hits struct {
	mu    sync.Mutex
	times []time.Time
}

func (h *hits) add() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.times = append(h.times, time.Now())
	return len(h.times)
}

func (h *hits) all() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.times...)
}

// peakRSS is the peak resident set size of a process, from /proc.
func peakRSS(t *testing.T, pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10, true
		}
	}
	return 0, false
}

// TestFlakySources runs the pipeline against sources that fail for a
// while, for good, slowly, hugely or partly, and checks that each one ends
// the way the retry policy says, with nothing lost or half-written.
func TestFlakySources(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)
	root := t.TempDir()
	startWorker(t, "demo", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_FILE_ROOT="+root)
	httpWH := sqliteWarehouse(t)
	httpWorker := startWorker(t, "http", srv.addr, "BLUEPRINT_DATABASE_URL="+httpWH.DSN, "BLUEPRINT_TASK_QUEUE="+httpQueue,
		"BLUEPRINT_HTTP_TIMEOUT="+httpTimeout.String(), fmt.Sprint("BLUEPRINT_MAX_RESPONSE_BYTES=", maxResponseBytes))

	t.Run("transient outages", func(t *testing.T) {
		t.Parallel()
		// failure_rate=0.3: an attempt meets an outage part-way through
		// with probability 0.3; failure_rate=1: every attempt but the
		// last does. The outages depend on the seed and workflow ID only.
		var urls []string
		for i := range 10 {
			urls = append(urls, fmt.Sprintf("demo://orders?failure_rate=0.3&seed=%d", 3000+i))
		}
		urls = append(urls, "demo://orders?failure_rate=1&seed=3100")
		runs := startRuns(t, c, "flaky", 15_000, urls...)
		finish(t, wh, runs)
		retried := 0
		for _, r := range runs {
			ex := activityOf(t, activityRuns(events(t, c, r.GetID(), r.GetRunID())), datapipeline.ExtractActivity)
			t.Logf("%s (%s): Extract took %d attempts", r.GetID(), r.url, ex.Attempt)
			if ex.Attempt > 1 {
				retried++
			}
		}
		last := runs[len(runs)-1]
		require.EqualValues(t, runinfo.MaxAttempts, activityOf(t, activityRuns(events(t, c, last.GetID(), last.GetRunID())), datapipeline.ExtractActivity).Attempt,
			"failure_rate=1 fails every attempt but the last")
		require.GreaterOrEqual(t, retried, 2, "some failure_rate=0.3 run met an outage too")
	})

	t.Run("source always down", func(t *testing.T) {
		t.Parallel()
		r := startRun(t, c, "always-down", runinfo.TaskQueue, datapipeline.Params{BatchSize: 1000, SourceURL: "demo://orders?fail=always&seed=3200"})
		appErr, acts := mustFail(t, c, r)
		require.Equal(t, runinfo.ErrTransient, appErr.Type())
		ex := activityOf(t, acts, datapipeline.ExtractActivity)
		require.EqualValues(t, runinfo.MaxAttempts, ex.Attempt, "Extract is tried exactly %d times", runinfo.MaxAttempts)
		require.Equal(t, "failed", ex.Outcome)
		require.Contains(t, ex.Failure, "fail=always")
		require.Equal(t, "completed", activityOf(t, acts, datapipeline.FinishRunActivity).Outcome, "the failure is recorded")
		for _, a := range acts {
			require.NotEqual(t, datapipeline.TransformActivity, a.Type, "nothing runs after a failed extract")
		}
		requireFailedRun(t, wh, r, "fail=always")

		// The CLI reads the worker's warehouse for the errors Temporal
		// no longer keeps (attempt 1's), as a user running it beside the
		// worker does.
		env := childEnv(t, "TEMPORAL_ADDRESS="+srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
		show := blueprint(t, env, "runs", "show", r.GetID())
		t.Logf("blueprint runs show %s:\n%s", r.GetID(), show)
		require.Equal(t, 0, show.code, "showing a failed run succeeds: %s", show)
		require.Regexp(t, `Status:\s+failed`, show.stdout)
		require.Regexp(t, `Extract\s+failed\s+3/3`, show.stdout, "the attempts are shown")
		for attempt := 1; attempt <= runinfo.MaxAttempts; attempt++ {
			require.Contains(t, show.stdout, fmt.Sprintf("Extract attempt %d failed: synthetic source unavailable (fail=always)", attempt), "every attempt's error")
		}
		require.Contains(t, show.stdout, "Failure: ")
		require.Empty(t, show.stderr)
	})

	t.Run("503 with Retry-After", func(t *testing.T) {
		t.Parallel()
		h := &hits{}
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h.add() == 1 {
				w.Header().Set("Retry-After", "3")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, ordersJSON("ra", 50))
		}))
		t.Cleanup(ts.Close)
		url := ts.URL + "/orders"
		r := startRun(t, c, "retry-after", httpQueue, datapipeline.Params{BatchSize: 100, SourceURL: url})
		var sum datapipeline.Summary
		require.NoError(t, r.Get(testContext(t), &sum))
		times := h.all()
		require.Len(t, times, 2, "one refused request, one retry")
		require.GreaterOrEqual(t, times[1].Sub(times[0]), 3*time.Second, "the retry waits for Retry-After (the policy alone waits %s)", runinfo.RetryInterval)
		ex := activityOf(t, activityRuns(events(t, c, r.GetID(), r.GetRunID())), datapipeline.ExtractActivity)
		require.EqualValues(t, 2, ex.Attempt)
		require.GreaterOrEqual(t, ex.Started.Sub(ex.Scheduled), 3*time.Second, "history: the second attempt starts 3 s or more after the first")
		httpWH.checkRun(t, expect(t, url, 100, source.Config{}), sum)
	})

	t.Run("404", func(t *testing.T) {
		t.Parallel()
		h := &hits{}
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.add()
			http.NotFound(w, r)
		}))
		t.Cleanup(ts.Close)
		r := startRun(t, c, "not-found", httpQueue, datapipeline.Params{BatchSize: 100, SourceURL: ts.URL + "/missing"})
		appErr, acts := mustFail(t, c, r)
		require.Equal(t, runinfo.ErrBadSource, appErr.Type())
		ex := activityOf(t, acts, datapipeline.ExtractActivity)
		require.EqualValues(t, 1, ex.Attempt, "a 404 is not retried")
		require.True(t, ex.NonRetryable)
		require.Contains(t, ex.Failure, "404")
		require.Len(t, h.all(), 1)
		requireFailedRun(t, httpWH, r, "404")
	})

	t.Run("hanging source", func(t *testing.T) {
		t.Parallel()
		h := &hits{}
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.add()
			<-r.Context().Done() // never answers
		}))
		t.Cleanup(ts.Close)
		r := startRun(t, c, "hanging", httpQueue, datapipeline.Params{BatchSize: 100, SourceURL: ts.URL + "/slow"})
		appErr, acts := mustFail(t, c, r)
		require.Equal(t, runinfo.ErrTransient, appErr.Type())
		ex := activityOf(t, acts, datapipeline.ExtractActivity)
		require.EqualValues(t, runinfo.MaxAttempts, ex.Attempt, "a timeout is retried, up to the policy's attempts")
		require.Equal(t, "failed", ex.Outcome, "each attempt ends by the source timeout, not the activity's")
		require.Contains(t, ex.Failure, "no complete response within "+httpTimeout.String())
		require.Len(t, h.all(), runinfo.MaxAttempts)
		requireFailedRun(t, httpWH, r, "no complete response")
	})

	t.Run("endless response", func(t *testing.T) {
		t.Parallel()
		var sent atomic.Int64
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			chunk := []byte(strings.Repeat(order("endless")+",", 256))
			n, _ := w.Write([]byte("["))
			sent.Add(int64(n))
			for r.Context().Err() == nil {
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		}))
		t.Cleanup(ts.Close)
		r := startRun(t, c, "endless", httpQueue, datapipeline.Params{BatchSize: 100, SourceURL: ts.URL + "/firehose"})
		appErr, acts := mustFail(t, c, r)
		require.Equal(t, runinfo.ErrBadSource, appErr.Type())
		ex := activityOf(t, acts, datapipeline.ExtractActivity)
		require.EqualValues(t, 1, ex.Attempt, "an oversized response is not retried")
		require.True(t, ex.NonRetryable)
		require.Contains(t, ex.Failure, fmt.Sprintf("response larger than %d bytes", maxResponseBytes))
		requireFailedRun(t, httpWH, r, "response larger than")
		t.Logf("the server sent %d bytes before the worker hung up", sent.Load())
		require.Less(t, sent.Load(), int64(64<<20), "the worker stops reading at the limit")
		if rss, ok := peakRSS(t, httpWorker.pid()); ok {
			t.Logf("worker peak RSS %d MiB", rss>>20)
			require.Less(t, rss, int64(256<<20), "the worker's memory stays small")
		}
	})

	t.Run("malformed records", func(t *testing.T) {
		t.Parallel()
		lines := []struct{ line, reason string }{
			{order("good-1"), ""},
			{`not json at all`, record.ReasonMalformed},
			{order("good-2"), ""},
			{`{"id":"no-email","category":"books","amount":"1.00","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, record.ReasonInvalidEmail},
			{`{"customer_email":"a@example.com","category":"books","amount":"1.00","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, record.ReasonMissingID},
			{strings.Replace(order("negative"), `"12.50"`, `"-5.00"`, 1), record.ReasonNegativeAmount},
			{strings.Replace(order("nan"), `"12.50"`, `"twelve"`, 1), record.ReasonInvalidAmount},
			{strings.Replace(order("euro"), `"EUR"`, `"EURO"`, 1), record.ReasonInvalidCurrency},
			{strings.Replace(order("when"), `"2026-03-01T10:00:00Z"`, `"yesterday"`, 1), record.ReasonInvalidTimestamp},
			{strings.Replace(order("nocat"), `"books"`, `"  "`, 1), record.ReasonMissingCategory},
			{order("good-1"), record.ReasonDuplicateID},
			{`[1,2,3]`, record.ReasonMalformed},
			{`{"id":"twice","id":"again","customer_email":"a@example.com"}`, record.ReasonMalformed},
			{`{"id": "cut", "customer_email": "a@example.com"`, record.ReasonMalformed},
			{"", ""}, // blank lines are skipped
			{order("good-3"), ""},
		}
		var b strings.Builder
		var want []string
		good := 0
		for _, l := range lines {
			b.WriteString(l.line + "\n")
			switch {
			case l.reason != "":
				want = append(want, l.reason)
			case l.line != "":
				good++
			}
		}
		require.NoError(t, os.WriteFile(filepath.Join(root, "partly-bad.ndjson"), []byte(b.String()), 0o600))
		url := "file:partly-bad.ndjson"
		r := startRun(t, c, "partly-bad", runinfo.TaskQueue, datapipeline.Params{BatchSize: 1000, SourceURL: url})
		var sum datapipeline.Summary
		require.NoError(t, r.Get(testContext(t), &sum))
		require.EqualValues(t, good, sum.Valid)
		rejected, err := wh.Rejected(context.Background(), runinfo.RunRef{WorkflowID: r.GetID(), RunID: r.GetRunID()}, 0)
		require.NoError(t, err)
		var got []string
		for _, rj := range rejected {
			got = append(got, rj.Reason)
			assert.NotEmpty(t, rj.Detail, "a rejection says what is wrong")
			assert.NotEmpty(t, rj.Raw, "a rejection keeps the record")
		}
		require.Equal(t, want, got, "each bad line is rejected with its reason, in order")
		n, err := wh.CountOrders(context.Background(), sum.Source)
		require.NoError(t, err)
		require.EqualValues(t, good, n)
		wh.checkRun(t, expect(t, url, 1000, source.Config{FileRoot: root}), sum)
	})
}
