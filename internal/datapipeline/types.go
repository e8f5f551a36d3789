package datapipeline

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// ExtractInput is the Extract activity's input.
type ExtractInput struct {
	Run    runinfo.RunRef `json:"run"`
	Params Params         `json:"params"`
	// Deployment is the deployment that started the run, if any.
	Deployment string    `json:"deployment,omitempty"`
	StartedAt  time.Time `json:"started_at"`
}

// ExtractResult says what Extract staged: counts and a reference, never
// the records themselves.
type ExtractResult struct {
	Run     runinfo.RunRef `json:"run"`
	Source  string         `json:"source"` // redacted source_url, the records' namespace
	Records int64          `json:"records"`
	Chunks  int            `json:"chunks"`
}

// TransformInput is the Transform activity's input.
type TransformInput struct {
	// Dataset is the definition of a declared dataset the run loads
	// (Params.DatasetDefinition); nil for the built-in orders, so that
	// an orders run's history is what it was before datasets existed.
	Dataset *dataset.Definition `json:"dataset,omitempty"`
	Run     runinfo.RunRef      `json:"run"`
	Chunks  int                 `json:"chunks"`
}

// TransformResult counts what Transform kept and rejected.
type TransformResult struct {
	Run      runinfo.RunRef   `json:"run"`
	Valid    int64            `json:"valid"`
	Rejected int64            `json:"rejected"`
	Reasons  map[string]int64 `json:"rejected_by_reason,omitempty"`
	Chunks   int              `json:"chunks"`
}

// LoadInput is the Load activity's input.
type LoadInput struct {
	Run runinfo.RunRef `json:"run"`
	// Dataset is as in TransformInput.
	Dataset *dataset.Definition `json:"dataset,omitempty"`
	Source  string              `json:"source"`
	Chunks  int                 `json:"chunks"`
	// Summary so far, stored with the run when the load commits.
	Summary Summary `json:"summary"`
}

// LoadResult counts what Load did to the target table.
type LoadResult struct {
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	// FirstOrderedAt and LastOrderedAt bound the ordered_at of every
	// order the run loaded (inserted, updated or unchanged): the days a
	// report must cover. Nil when nothing was loaded.
	FirstOrderedAt *time.Time `json:"first_ordered_at,omitempty"`
	LastOrderedAt  *time.Time `json:"last_ordered_at,omitempty"`
}

// FinishRunInput records the end of a run that did not complete.
type FinishRunInput struct {
	Run    runinfo.RunRef `json:"run"`
	Status string         `json:"status"` // runinfo.RunFailed or runinfo.RunCancelled
	Error  string         `json:"error"`
}

// Summary is the workflow's result.
type Summary struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Source     string `json:"source"`
	// Dataset is the dataset a run of a declared dataset loaded; empty
	// for the built-in orders, whose runs' results are what they were
	// before datasets existed (see Params.DatasetName).
	Dataset   string           `json:"dataset,omitempty"`
	BatchSize int              `json:"batch_size"`
	Extracted int64            `json:"extracted"`
	Valid     int64            `json:"valid"`
	Rejected  int64            `json:"rejected"`
	Reasons   map[string]int64 `json:"rejected_by_reason,omitempty"`
	Loaded    LoadResult       `json:"loaded"`
	Durations StageDurations   `json:"durations"`
}

// StageDurations are measured by the workflow, retries and queueing included.
// In JSON (the Web UI, the Temporal CLI, `-o json`) they are whole
// milliseconds, as in pipeline_runs, not Go's nanoseconds.
type StageDurations struct {
	Extract   time.Duration `json:"-"`
	Transform time.Duration `json:"-"`
	Load      time.Duration `json:"-"`
	Total     time.Duration `json:"-"`
}

type stageDurationsJSON struct {
	ExtractMS   int64 `json:"extract_ms"`
	TransformMS int64 `json:"transform_ms"`
	LoadMS      int64 `json:"load_ms"`
	TotalMS     int64 `json:"total_ms"`
}

// MarshalJSON writes the durations as milliseconds.
func (d StageDurations) MarshalJSON() ([]byte, error) {
	return json.Marshal(stageDurationsJSON{d.Extract.Milliseconds(), d.Transform.Milliseconds(), d.Load.Milliseconds(), d.Total.Milliseconds()})
}

// UnmarshalJSON reads milliseconds.
func (d *StageDurations) UnmarshalJSON(b []byte) error {
	var v stageDurationsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	*d = StageDurations{Extract: ms(v.ExtractMS), Transform: ms(v.TransformMS), Load: ms(v.LoadMS), Total: ms(v.TotalMS)}
	return nil
}

// Progress is the answer to the "progress" query. Live row counts of the
// running stage are in the pending activity's heartbeat (a Checkpoint).
type Progress struct {
	Stage     string `json:"stage"`
	Extracted int64  `json:"extracted"`
	Valid     int64  `json:"valid"`
	Rejected  int64  `json:"rejected"`
	Loaded    int64  `json:"loaded"`
}

// Checkpoint is what a stage heartbeats after each committed chunk: how far
// it got. A retried attempt resumes after the last committed chunk.
type Checkpoint struct {
	Stage   string `json:"stage"`
	Chunks  int    `json:"chunks"`
	Records int64  `json:"records"`
	// Waiting is set while the activity waits for the warehouse (the
	// worker adds it to any activity's heartbeat; see internal/worker).
	Waiting *runinfo.WarehouseWait `json:"waiting,omitempty"`
}

// OneLine says what a completed run did, in one line: "1000 extracted,
// 990 valid, 10 rejected (invalid_amount: 10), loaded 990 (990 inserted,
// 0 updated, 0 unchanged)".
func (s Summary) OneLine() string {
	rejected := fmt.Sprintf("%d rejected", s.Rejected)
	if len(s.Reasons) > 0 {
		rejected += " (" + record.FormatReasons(s.Reasons) + ")"
	}
	l := s.Loaded
	line := fmt.Sprintf("%d extracted, %d valid, %s, loaded %d (%d inserted, %d updated, %d unchanged)",
		s.Extracted, s.Valid, rejected, l.Inserted+l.Updated+l.Unchanged, l.Inserted, l.Updated, l.Unchanged)
	if s.Dataset != "" {
		line = s.Dataset + ": " + line
	}
	return line
}
