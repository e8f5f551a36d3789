package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// RunRecord is a row of pipeline_runs: one run of the pipeline, its
// parameters, counts and stage durations.
type RunRecord struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Deployment string `json:"deployment,omitempty"`
	Source     string `json:"source"`
	// Params is the run's input, already redacted by the caller.
	Params json.RawMessage `json:"params,omitempty"`
	// Status is one of runinfo.RunRunning, RunCompleted, RunFailed, RunCancelled.
	Status     string           `json:"status"`
	Extracted  int64            `json:"extracted"`
	Valid      int64            `json:"valid"`
	Rejected   int64            `json:"rejected"`
	Reasons    map[string]int64 `json:"rejected_by_reason,omitempty"`
	Inserted   int64            `json:"inserted"`
	Updated    int64            `json:"updated"`
	Unchanged  int64            `json:"unchanged"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at,omitempty"`
	// Stage durations in milliseconds, as the workflow measured them.
	ExtractMS   int64 `json:"extract_ms"`
	TransformMS int64 `json:"transform_ms"`
	LoadMS      int64 `json:"load_ms"`
	// Error says why a failed or cancelled run ended.
	Error string `json:"error,omitempty"`
}

// Ref is the run's key.
func (r RunRecord) Ref() runinfo.RunRef {
	return runinfo.RunRef{WorkflowID: r.WorkflowID, RunID: r.RunID}
}

// BeginRun records a run as running (r.Status and the counts are ignored).
// A run that is already recorded is left alone, so a retried activity can
// call it again.
func (s *Store) BeginRun(ctx context.Context, r RunRecord) error {
	if r.WorkflowID == "" || r.RunID == "" {
		return fmt.Errorf("store: begin run: workflow and run ID are required")
	}
	if len(r.Params) > 0 && !json.Valid(r.Params) {
		return fmt.Errorf("store: begin run %s: params are not valid JSON", r.Ref().Key())
	}
	started := r.StartedAt
	if started.IsZero() {
		started = now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `
			INSERT INTO pipeline_runs (workflow_id, run_id, deployment, source, params, status, started_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (workflow_id, run_id) DO NOTHING`,
			r.WorkflowID, r.RunID, r.Deployment, r.Source, nullJSON(r.Params), runinfo.RunRunning, s.timeArg(started))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: begin run %s: %w", r.Ref().Key(), err)
	}
	return nil
}

// FinishRun records that a run failed or was cancelled, and drops its
// staged chunks (its rejected records stay for inspection). Only a running
// (or unrecorded) run changes: the first terminal status wins, and a
// completed run is never overwritten, so calling it again is harmless.
func (s *Store) FinishRun(ctx context.Context, ref runinfo.RunRef, status, errMsg string) error {
	if status != runinfo.RunFailed && status != runinfo.RunCancelled {
		return fmt.Errorf("store: finish run %s: status %q is not %q or %q", ref.Key(), status, runinfo.RunFailed, runinfo.RunCancelled)
	}
	t := s.timeArg(now())
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, `
			INSERT INTO pipeline_runs (workflow_id, run_id, status, started_at, finished_at, error)
			VALUES ($1, $2, $3, $4, $4, $5)
			ON CONFLICT (workflow_id, run_id) DO UPDATE
			SET status = excluded.status, finished_at = excluded.finished_at, error = excluded.error
			WHERE pipeline_runs.status = 'running'`,
			ref.WorkflowID, ref.RunID, status, t, errMsg); err != nil {
			return err
		}
		return s.deleteStaging(ctx, tx, ref)
	})
	if err != nil {
		return fmt.Errorf("store: finish run %s: %w", ref.Key(), err)
	}
	return nil
}

// CompleteRun records a run as completed with r's counts and durations,
// marks its load stage done, drops its staged chunks and writes logs (the
// line that says so), in one transaction. It is idempotent; a run that already failed or was
// cancelled is not resurrected (ErrRunFinished).
//
// r's identity fields (Deployment, Source, Params, StartedAt) are only
// used when BeginRun was never called. Its load counts should come from
// Checkpoint(ctx, ref, runinfo.StageLoad): they are cumulative over every
// attempt, unlike what one attempt saw.
func (s *Store) CompleteRun(ctx context.Context, ref runinfo.RunRef, r RunRecord, logs ...ChunkLog) error {
	if len(r.Params) > 0 && !json.Valid(r.Params) {
		return fmt.Errorf("store: complete run %s: params are not valid JSON", ref.Key())
	}
	reasons, err := json.Marshal(r.Reasons)
	if err != nil {
		return fmt.Errorf("store: complete run %s: %w", ref.Key(), err)
	}
	if len(r.Reasons) == 0 {
		reasons = nil
	}
	started := r.StartedAt
	if started.IsZero() {
		started = now()
	}
	finished := now()
	if r.FinishedAt != nil {
		finished = r.FinishedAt.UTC()
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, `
			INSERT INTO pipeline_runs (workflow_id, run_id, deployment, source, params, status,
				extracted, valid, rejected, rejected_by_reason, inserted, updated, unchanged,
				started_at, finished_at, extract_ms, transform_ms, load_ms, error)
			VALUES ($1, $2, $3, $4, $5, 'completed', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, '')
			ON CONFLICT (workflow_id, run_id) DO UPDATE SET
				status = 'completed',
				extracted = excluded.extracted, valid = excluded.valid, rejected = excluded.rejected,
				rejected_by_reason = excluded.rejected_by_reason,
				inserted = excluded.inserted, updated = excluded.updated, unchanged = excluded.unchanged,
				finished_at = excluded.finished_at,
				extract_ms = excluded.extract_ms, transform_ms = excluded.transform_ms, load_ms = excluded.load_ms,
				error = ''
			WHERE pipeline_runs.status = 'running'`,
			ref.WorkflowID, ref.RunID, r.Deployment, r.Source, nullJSON(r.Params),
			r.Extracted, r.Valid, r.Rejected, nullJSON(reasons), r.Inserted, r.Updated, r.Unchanged,
			s.timeArg(started), s.timeArg(finished), r.ExtractMS, r.TransformMS, r.LoadMS); err != nil {
			return err
		}
		var status string
		if err := s.txQueryRow(ctx, tx, `SELECT status FROM pipeline_runs WHERE workflow_id = $1 AND run_id = $2`,
			ref.WorkflowID, ref.RunID).Scan(&status); err != nil {
			return err
		}
		if status != runinfo.RunCompleted {
			return fmt.Errorf("it is %s: %w", status, ErrRunFinished)
		}
		cp, err := s.lockCheckpoint(ctx, tx, ref, runinfo.StageLoad)
		if err != nil {
			return err
		}
		cp.Done = true
		if err := s.saveCheckpoint(ctx, tx, ref, runinfo.StageLoad, cp); err != nil {
			return err
		}
		if err := s.deleteStaging(ctx, tx, ref); err != nil {
			return err
		}
		return s.chunkLogs(ctx, tx, ref, logs)
	})
	if err != nil {
		return fmt.Errorf("store: complete run %s: %w", ref.Key(), err)
	}
	return nil
}

// deleteStaging drops the staged chunks and kept ids of a run;
// checkpoints and rejected records stay.
func (s *Store) deleteStaging(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef) error {
	if _, err := s.txExec(ctx, tx, `DELETE FROM stage_chunks WHERE run_key = $1`, ref.Key()); err != nil {
		return fmt.Errorf("delete staged chunks: %w", err)
	}
	if _, err := s.txExec(ctx, tx, `DELETE FROM stage_ids WHERE run = $1`, RunNumber(ref)); err != nil {
		return fmt.Errorf("delete kept ids: %w", err)
	}
	return nil
}

const runColumns = `workflow_id, run_id, deployment, source, params, status,
	extracted, valid, rejected, rejected_by_reason, inserted, updated, unchanged,
	started_at, finished_at, extract_ms, transform_ms, load_ms, error`

// GetRun reads one run. A run that is not recorded gives an error wrapping
// sql.ErrNoRows.
func (s *Store) GetRun(ctx context.Context, ref runinfo.RunRef) (RunRecord, error) {
	var r RunRecord
	err := s.read(ctx, func() (err error) {
		r, err = scanRun(s.dbQueryRow(ctx, `SELECT `+runColumns+` FROM pipeline_runs WHERE workflow_id = $1 AND run_id = $2`,
			ref.WorkflowID, ref.RunID))
		return err
	})
	if err != nil {
		return RunRecord{}, fmt.Errorf("store: get run %s: %w", ref.Key(), err)
	}
	return r, nil
}

// ListRuns returns the most recently started runs first; limit <= 0 means
// all of them.
func (s *Store) ListRuns(ctx context.Context, limit int) ([]RunRecord, error) {
	q := `SELECT ` + runColumns + ` FROM pipeline_runs ORDER BY started_at DESC, workflow_id, run_id`
	var args []any
	if limit > 0 {
		q += ` LIMIT $1`
		args = append(args, limit)
	}
	var runs []RunRecord
	err := s.read(ctx, func() error {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		runs = nil
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	return runs, nil
}

func scanRun(row interface{ Scan(...any) error }) (RunRecord, error) {
	var (
		r                 RunRecord
		params, reasons   sql.NullString
		started, finished scanTime
	)
	err := row.Scan(&r.WorkflowID, &r.RunID, &r.Deployment, &r.Source, &params, &r.Status,
		&r.Extracted, &r.Valid, &r.Rejected, &reasons, &r.Inserted, &r.Updated, &r.Unchanged,
		&started, &finished, &r.ExtractMS, &r.TransformMS, &r.LoadMS, &r.Error)
	if err != nil {
		return RunRecord{}, err
	}
	if params.Valid {
		r.Params = json.RawMessage(params.String)
	}
	if reasons.Valid {
		if err := json.Unmarshal([]byte(reasons.String), &r.Reasons); err != nil {
			return RunRecord{}, fmt.Errorf("rejected_by_reason of %s/%s: %w", r.WorkflowID, r.RunID, err)
		}
	}
	r.StartedAt, r.FinishedAt = started.Time, finished.ptr()
	return r, nil
}

// isNoRows reports whether err says a row was not found.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
