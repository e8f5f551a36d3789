package source

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

func readDemo(t *testing.T, url, cursor string, limit int64, cfg Config) []string {
	t.Helper()
	records, _, err := readAll(t, open(t, mustSpec(t, url), cursor, limit, Attempt{}, cfg))
	require.NoError(t, err)
	return records
}

func TestDemoDeterministic(t *testing.T) {
	a := readDemo(t, "demo://orders?seed=7", "", 3000, Config{})
	b := readDemo(t, "demo://orders?seed=7", "", 3000, Config{PageSize: 128})
	c := readDemo(t, "demo://orders?seed=8", "", 3000, Config{})
	require.Len(t, a, 3000)
	require.Equal(t, a, b, "same seed, same records, whatever the page size")
	require.NotEqual(t, a, c)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	assert.Less(t, same, 10, "another seed must give other records, not a shifted copy")
}

func TestDemoResume(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		limit    int64
	}{
		{"pages divide the limit", 100, 1000},
		{"last page partial", 300, 1000},
		{"one page", 5000, 1000},
		{"page size 1", 1, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{PageSize: tt.pageSize}
			spec := mustSpec(t, "demo://orders?seed=3")
			all, cursors, err := readAll(t, open(t, spec, "", tt.limit, Attempt{}, cfg))
			require.NoError(t, err)
			require.Len(t, all, int(tt.limit), "limit respected")
			require.Len(t, cursors, int((tt.limit+int64(tt.pageSize)-1)/int64(tt.pageSize)))
			for _, cursor := range cursors {
				done, err := strconv.Atoi(cursor)
				require.NoError(t, err)
				rest, _, err := readAll(t, open(t, spec, cursor, tt.limit-int64(done), Attempt{}, cfg))
				require.NoError(t, err)
				require.Equal(t, all[done:], rest, "resume from %s", cursor)
			}
		})
	}
}

func TestDemoLimitZero(t *testing.T) {
	require.Empty(t, readDemo(t, "demo://orders", "", 0, Config{}))
}

func TestDemoBadCursor(t *testing.T) {
	_, err := Open(context.Background(), mustSpec(t, "demo://orders"), "page-2", 10, restapi.RecordFields, Attempt{}, Config{})
	requireAppError(t, err, runinfo.ErrBadSource, false)
}

// TestDemoDirtyRecords checks both the share of dirty records and that each
// kind of flaw is really in the bytes, by looking at the JSON alone.
func TestDemoDirtyRecords(t *testing.T) {
	const n = 10_000
	const seed = 42
	records := readDemo(t, fmt.Sprintf("demo://orders?seed=%d", seed), "", n, Config{})
	require.Len(t, records, n)

	counts := map[dirtyKind]int{}
	seen := map[string]bool{}
	for i, raw := range records {
		kind := kindOf(seed, uint64(i))
		counts[kind]++
		var o map[string]any
		if kind == dirtyNonObject {
			require.True(t, json.Valid([]byte(raw)), raw)
			require.NotEqual(t, byte('{'), raw[0], "record %d must not be an object: %s", i, raw)
			continue
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &o), raw)
		flaws := orderFlaws(o, seen)
		if kind == clean {
			require.Empty(t, flaws, "clean record %d: %s", i, raw)
		} else {
			require.Contains(t, flaws, kind, "record %d: %s", i, raw)
		}
		if id, ok := o["id"].(string); ok {
			seen[id] = true
		}
	}

	dirty := n - counts[clean]
	assert.InDelta(t, 0.035, float64(dirty)/n, 0.015, "dirty share %d/%d", dirty, n)
	for k := clean + 1; k < numKinds; k++ {
		assert.Positive(t, counts[k], "dirty kind %d never appears", k)
	}
}

// orderFlaws lists what is wrong with an order object, in the terms of
// the dirty kinds.
func orderFlaws(o map[string]any, seen map[string]bool) []dirtyKind {
	var flaws []dirtyKind
	fields := []string{"id", "customer_email", "category", "amount", "currency", "timestamp"}
	for _, f := range fields {
		if _, ok := o[f]; !ok {
			flaws = append(flaws, dirtyMissingField)
		}
	}
	if id, ok := o["id"].(string); ok && seen[id] {
		flaws = append(flaws, dirtyDuplicateID)
	}
	if email, ok := o["customer_email"].(string); ok {
		trimmed := strings.TrimSpace(email)
		local, domain, found := strings.Cut(trimmed, "@")
		switch {
		case !found || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain+local, "@ "):
			flaws = append(flaws, dirtyEmailInvalid)
		case trimmed != email || strings.ToLower(email) != email:
			flaws = append(flaws, dirtyEmailCase)
		}
	}
	if amount, ok := o["amount"]; ok {
		var f float64
		var err error
		switch a := amount.(type) {
		case string:
			f, err = strconv.ParseFloat(a, 64)
		case float64:
			f = a
		default:
			err = fmt.Errorf("amount is a %T", a)
		}
		switch {
		case err != nil:
			flaws = append(flaws, dirtyAmountNonNumeric)
		case f < 0:
			flaws = append(flaws, dirtyAmountNegative)
		}
	}
	if c, ok := o["currency"].(string); ok && (len(c) != 3 || strings.ToUpper(c) != c || strings.ContainsAny(c, "$0123456789")) {
		flaws = append(flaws, dirtyCurrency)
	}
	if ts, ok := o["timestamp"].(string); ok {
		tm, err := time.Parse(time.RFC3339, ts)
		if err != nil || tm.UTC().Year() != 2026 {
			flaws = append(flaws, dirtyTimestamp)
		}
	}
	return flaws
}

func TestDemoFailAlways(t *testing.T) {
	spec := mustSpec(t, "demo://orders?fail=always")
	for n := int32(1); n <= runinfo.MaxAttempts; n++ {
		r := open(t, spec, "", 100, Attempt{WorkflowID: "wf", Number: n, Max: runinfo.MaxAttempts}, Config{})
		for range 2 {
			_, err := r.Next(context.Background())
			appErr := requireAppError(t, err, runinfo.ErrTransient, true)
			require.Contains(t, appErr.Error(), "synthetic source unavailable")
		}
	}
}

func TestDemoFailureRate(t *testing.T) {
	const max = runinfo.MaxAttempts
	tests := []struct {
		name       string
		limit      int64
		pageSize   int
		workflowID string
	}{
		{"several pages", 1000, 100, "wf-a"},
		{"several pages, other workflow", 1000, 100, "wf-b"},
		{"two pages", 200, 100, "wf-c"},
		{"one page", 50, 100, "wf-d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mustSpec(t, "demo://orders?failure_rate=1")
			cfg := Config{PageSize: tt.pageSize}
			want := readDemo(t, "demo://orders", "", tt.limit, cfg)
			for n := int32(1); n < max; n++ {
				r := open(t, spec, "", tt.limit, Attempt{WorkflowID: tt.workflowID, Number: n, Max: max}, cfg)
				records, _, err := readAll(t, r)
				requireAppError(t, err, runinfo.ErrTransient, true)
				if tt.limit > int64(tt.pageSize) {
					require.NotEmpty(t, records, "with several pages, some come through before the outage")
				}
				require.Less(t, len(records), int(tt.limit))
				require.Equal(t, want[:len(records)], records)
			}
			got, _, err := readAll(t, open(t, spec, "", tt.limit, Attempt{WorkflowID: tt.workflowID, Number: max, Max: max}, cfg))
			require.NoError(t, err, "the last attempt never meets an outage")
			require.Equal(t, want, got)
		})
	}
}

func TestDemoFailureRateUnboundedLimit(t *testing.T) {
	r := open(t, mustSpec(t, "demo://orders?failure_rate=1"), "", math.MaxInt64, Attempt{WorkflowID: "wf", Number: 1, Max: 3}, Config{PageSize: 10})
	page, err := r.Next(context.Background())
	require.NoError(t, err, "with (practically) endless pages the outage comes later")
	require.Len(t, page.Records, 10)
}

func TestDemoFailureRateDeterministic(t *testing.T) {
	spec := mustSpec(t, "demo://orders?failure_rate=0.5&seed=9")
	cfg := Config{PageSize: 10}
	outcome := func(wf string, n int32) string {
		records, _, err := readAll(t, open(t, spec, "", 1000, Attempt{WorkflowID: wf, Number: n, Max: 3}, cfg))
		return fmt.Sprintf("%d records, error %v", len(records), err)
	}
	failed := 0
	for i := range 40 {
		wf := fmt.Sprintf("wf-%d", i)
		first := outcome(wf, 1)
		require.Equal(t, first, outcome(wf, 1), "the same attempt must meet the same fate")
		if strings.Contains(first, "unavailable") {
			failed++
		}
	}
	assert.Greater(t, failed, 5, "failure_rate=0.5 fails some attempts")
	assert.Less(t, failed, 35, "failure_rate=0.5 spares some attempts")
}

func TestDemoLatency(t *testing.T) {
	records := readDemo(t, "demo://orders?latency=1ms", "", 30, Config{PageSize: 10})
	require.Len(t, records, 30)

	r := open(t, mustSpec(t, "demo://orders?latency=1m"), "", 10, Attempt{}, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(ctx)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second): // a watchdog, far below the latency
		t.Fatal("Next ignored the cancelled context")
	}
}

func BenchmarkDemo(b *testing.B) {
	ctx := context.Background()
	r, err := Open(ctx, mustSpec(b, "demo://orders?seed=1"), "", math.MaxInt64, restapi.RecordFields, Attempt{}, Config{})
	require.NoError(b, err)
	defer r.Close()
	records := 0
	for b.Loop() {
		page, err := r.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		records += len(page.Records)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
