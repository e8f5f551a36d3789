package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p    progress
		want string
	}{
		{progress{stage: "extract", rows: 5000, attempt: 1}, "stage=extract rows=5000 attempt=1"},
		{progress{stage: "load", rows: 0, attempt: 3, lastFailure: `db "down"`}, `stage=load rows=0 attempt=3 retries=2 last_error="db \"down\""`},
		{progress{stage: "transform", rows: 7, attempt: 2}, "stage=transform rows=7 attempt=2 retries=1"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.line())
	}
}

func TestProgressBar(t *testing.T) {
	p := progress{stage: "extract", rows: 500, attempt: 2, maxAttempts: 3, lastFailure: "source unavailable"}
	assert.Equal(t, "extract   ████████████░░░░░░░░░░░░ 500 rows  attempt 2/3  (retrying after: source unavailable)", p.bar(1000))
	p = progress{stage: "load", rows: 2000, attempt: 1}
	assert.Equal(t, "load      ████████████████████████ 2000 rows  attempt 1", p.bar(1000), "capped at full")
	p = progress{stage: "starting"}
	assert.Equal(t, "starting  ░░░░░░░░░░░░░░░░░░░░░░░░ 0 rows", p.bar(0), "no expectation: empty bar")
}

// TestProgressOfAFlowWithoutCheckpoints: a flow whose activities
// heartbeat no checkpoint is shown by its current details on one line,
// with the attempt of a retried activity; DataPipeline's bar is unchanged.
func TestProgressOfAFlowWithoutCheckpoints(t *testing.T) {
	details := condenseDetails("**Stage:** report\n\n**Days:** 2025-01-01 to 2025-01-02 (America/Chicago)\n\n**Attempt:**  2 of 3\n(from the start)")
	assert.Equal(t, "Stage: report · Days: 2025-01-01 to 2025-01-02 (America/Chicago) · Attempt: 2 of 3 · (from the start)", details)
	assert.Empty(t, condenseDetails(""), "no details: nothing")
	assert.Equal(t, "Stage: done", condenseDetails("**Stage:** done"))

	tests := []struct {
		name      string
		p         progress
		line, bar string
	}{
		{"first attempt", progress{stage: "reportdailyrevenue", attempt: 1, maxAttempts: 3, details: "Stage: report · Days: 2025-01-01"},
			"Stage: report · Days: 2025-01-01", "Stage: report · Days: 2025-01-01"},
		{"retried", progress{stage: "reportdailyrevenue", attempt: 2, maxAttempts: 3, lastFailure: "warehouse down", details: "Stage: report"},
			`Stage: report attempt=2 retries=1 last_error="warehouse down"`, "Stage: report  attempt 2/3  (retrying after: warehouse down)"},
		{"children", progress{stage: "children(2 running)", details: "Stage: load · Sources: 2"},
			"Stage: load · Sources: 2", "Stage: load · Sources: 2"},
		{"waiting for a worker wins", progress{details: "Stage: report", waiting: "no live worker"},
			"waiting for a worker: no live worker", "waiting for a worker: no live worker"},
		{"no details yet: the stage", progress{stage: "reportdailyrevenue", attempt: 1},
			"stage=reportdailyrevenue rows=0 attempt=1", "reportdailyrevenue ░░░░░░░░░░░░░░░░░░░░░░░░ 0 rows  attempt 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.line, tt.p.line())
			assert.Equal(t, tt.bar, tt.p.bar(0))
		})
	}
}

func TestFailureChain(t *testing.T) {
	f := &failurepb.Failure{
		Message: "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{
			ActivityType: &commonpb.ActivityType{Name: "Extract"},
			RetryState:   enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
		}},
		Cause: &failurepb.Failure{
			Message:     "fetch page 3: source unavailable\n(HTTP 503)",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "Transient"}},
			Cause: &failurepb.Failure{
				// A Go error chain repeats its causes' text: dropped.
				Message:     "source unavailable",
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "wrapError"}},
			},
		},
	}
	assert.Equal(t, "activity Extract failed (maximum attempts reached): fetch page 3: source unavailable; (HTTP 503) (Transient)", failureChain(f))
	assert.Equal(t, "", failureChain(nil))
}

func TestOneLine(t *testing.T) {
	assert.Equal(t, "a; b; c", oneLine("a\nb\r\nc\n"))
}

func TestNextRunsColumns(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, timezone string
		loc            *time.Location
		want           string
	}{
		{"utc", "UTC", time.UTC, "\nNext runs (from the server):\n  UTC\n  2026-12-07 15:00:00Z\n"},
		{"chicago", "America/Chicago", chicago,
			"\nNext runs (from the server):\n  AMERICA/CHICAGO          UTC\n  2026-12-07 09:00:00 CST  2026-12-07 15:00:00Z\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			s := scheduleView{Timezone: tc.timezone, NextRuns: []runTime{{Local: at.In(tc.loc), UTC: at}}}
			require.NoError(t, printScheduleView(&b, newFields(&b, ""), s, 1))
			assert.Contains(t, b.String(), tc.want)
		})
	}
}
