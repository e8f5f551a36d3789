package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// FlowRun is a row of flow_runs: how one run of any flow ended. The EndRun
// step every flow ends with writes it, so the warehouse holds every run's
// outcome and readable failure, whatever its flow.
type FlowRun struct {
	Run        runinfo.RunRef `json:"run"`
	Flow       string         `json:"flow"`
	Deployment string         `json:"deployment,omitempty"`
	// Status is runinfo.RunCompleted, RunFailed or RunCancelled.
	Status string `json:"status"`
	// Stage is where a failed run failed ("" when not known).
	Stage   string    `json:"stage,omitempty"`
	Summary string    `json:"summary,omitempty"`
	Error   string    `json:"error,omitempty"`
	EndedAt time.Time `json:"ended_at"`
}

// maxFlowRunText bounds a flow run's summary and error: they are one line
// for people, and a flow's error may quote a whole response.
const maxFlowRunText = 4000

// RecordFlowRun writes how a run ended. Recording the same run again
// replaces the row (a retried EndRun writes what it wrote before). The
// run's staging goes with it, in the same transaction: its staged chunks
// and the ids its duplicate check kept, which only a running run needs
// (a flow's dataset load keeps them, see ClaimLoad; DataPipeline's own
// stages drop theirs as they end). Checkpoints and rejected records stay.
// logs, the run log's lines of its outcome, commit with the row.
func (s *Store) RecordFlowRun(ctx context.Context, r FlowRun, logs ...ChunkLog) error {
	if r.Run.WorkflowID == "" || r.Run.RunID == "" || r.Flow == "" {
		return fmt.Errorf("store: record flow run: workflow ID, run ID and flow are required")
	}
	if r.EndedAt.IsZero() {
		r.EndedAt = now()
	}
	clip := func(s string) string {
		s = strings.ToValidUTF8(s, "?")
		if len(s) > maxFlowRunText {
			s = strings.ToValidUTF8(s[:maxFlowRunText], "") + "..."
		}
		return s
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `
			INSERT INTO flow_runs (workflow_id, run_id, flow, deployment, status, stage, summary, error, ended_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (workflow_id, run_id) DO UPDATE SET flow = excluded.flow, deployment = excluded.deployment,
				status = excluded.status, stage = excluded.stage, summary = excluded.summary, error = excluded.error,
				ended_at = excluded.ended_at`,
			r.Run.WorkflowID, r.Run.RunID, r.Flow, r.Deployment, r.Status, r.Stage, clip(r.Summary), clip(r.Error), s.timeArg(r.EndedAt))
		if err != nil {
			return err
		}
		if err := s.deleteStaging(ctx, tx, r.Run); err != nil {
			return err
		}
		return s.chunkLogs(ctx, tx, r.Run, logs)
	})
	if err != nil {
		return fmt.Errorf("store: record flow run %s: %w", r.Run.Key(), err)
	}
	return nil
}

// GetFlowRun returns how run ref ended; ok is false when it has not (or
// ended before flow_runs existed).
func (s *Store) GetFlowRun(ctx context.Context, ref runinfo.RunRef) (r FlowRun, ok bool, err error) {
	err = s.read(ctx, func() error {
		var ended scanTime
		r = FlowRun{Run: ref}
		err := s.dbQueryRow(ctx, `SELECT flow, deployment, status, stage, summary, error, ended_at
			FROM flow_runs WHERE workflow_id = $1 AND run_id = $2`, ref.WorkflowID, ref.RunID).
			Scan(&r.Flow, &r.Deployment, &r.Status, &r.Stage, &r.Summary, &r.Error, &ended)
		if isNoRows(err) {
			ok = false
			return nil
		}
		if err != nil {
			return err
		}
		r.EndedAt, ok = ended.Time, true
		return nil
	})
	if err != nil {
		return FlowRun{}, false, fmt.Errorf("store: get flow run %s: %w", ref.Key(), err)
	}
	return r, ok, nil
}
