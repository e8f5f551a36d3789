package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Log levels of run log lines, least severe first.
const (
	LogInfo  = "info"
	LogWarn  = "warn"
	LogError = "error"
)

// LogLevels lists the levels, least severe first: a level filter keeps its
// level and the ones after it.
var LogLevels = []string{LogInfo, LogWarn, LogError}

// Bounds of the run logs. Both are overridable (the worker reads
// BLUEPRINT_RUN_LOG_MAX_LINES and BLUEPRINT_RUN_LOG_RETENTION).
const (
	// DefaultRunLogMaxLines caps the lines kept per run: a million-row run
	// writes about 700 (one per committed chunk and stage), so the cap only
	// stops a runaway writer.
	DefaultRunLogMaxLines = 5000
	// DefaultRunLogRetention is how long lines are kept before the worker
	// deletes them.
	DefaultRunLogRetention = 30 * 24 * time.Hour
	// maxLogMessage bounds one line's message, in bytes.
	maxLogMessage = 4000
)

// LogLine is one line of a run's log.
type LogLine struct {
	// ID orders the lines of a run as they were written.
	ID         int64     `json:"id"`
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Time       time.Time `json:"time"`
	Level      string    `json:"level"`
	// Stage is the stage or step that wrote it ("extract", "run", ...).
	Stage string `json:"stage"`
	// Attempt is the activity attempt that wrote it; 0 for run-level lines.
	Attempt int    `json:"attempt"`
	Message string `json:"message"`
	// Once, when not empty, makes the line unique per run under this key:
	// a writer that is retried (an activity, a workflow step) writes it
	// once. Lines with a Once key are also exempt from the line cap, so a
	// run's outcome is always recorded.
	Once string `json:"-"`
}

// LimitOnce is the Once key of the line that says the cap was reached.
const LimitOnce = "log-limit"

// AppendLogs writes lines to the log of run ref in one transaction.
// Beyond maxLines lines (DefaultRunLogMaxLines when <= 0) ordinary lines
// are dropped, and one warning says so; lines with a Once key are always
// written (once). Zero times are set to now.
func (s *Store) AppendLogs(ctx context.Context, ref runinfo.RunRef, maxLines int, lines ...LogLine) error {
	if ref.WorkflowID == "" || ref.RunID == "" {
		return fmt.Errorf("store: append logs: workflow and run ID are required")
	}
	if err := checkLevels(ref, lines); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return s.appendLogs(ctx, tx, ref, maxLines, lines)
	})
	if err != nil {
		return fmt.Errorf("store: append logs of %s: %w", ref.Key(), err)
	}
	return nil
}

func checkLevels(ref runinfo.RunRef, lines []LogLine) error {
	for _, l := range lines {
		if !slices.Contains(LogLevels, l.Level) {
			return fmt.Errorf("store: append logs of %s: level %q is not one of %s", ref.Key(), l.Level, strings.Join(LogLevels, ", "))
		}
	}
	return nil
}

// appendLogs is AppendLogs in tx.
func (s *Store) appendLogs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, maxLines int, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	if maxLines <= 0 {
		maxLines = DefaultRunLogMaxLines
	}
	var n int
	if err := s.txQueryRow(ctx, tx, `SELECT count(*) FROM run_logs WHERE workflow_id = $1 AND run_id = $2 AND once_key IS NULL`,
		ref.WorkflowID, ref.RunID).Scan(&n); err != nil {
		return err
	}
	for _, l := range lines {
		if l.Once == "" && n >= maxLines {
			l = LogLine{Level: LogWarn, Stage: l.Stage, Attempt: l.Attempt, Once: LimitOnce,
				Message: fmt.Sprintf("log limit of %d lines per run reached; later lines are dropped (BLUEPRINT_RUN_LOG_MAX_LINES)", maxLines)}
		}
		if l.Once == "" {
			n++
		}
		if l.Time.IsZero() {
			l.Time = now()
		}
		msg := strings.ToValidUTF8(l.Message, "?")
		if len(msg) > maxLogMessage {
			msg = strings.ToValidUTF8(msg[:maxLogMessage], "") + "..."
		}
		var once any
		if l.Once != "" {
			once = l.Once
		}
		if _, err := s.txExec(ctx, tx, `
			INSERT INTO run_logs (workflow_id, run_id, logged_at, level, stage, attempt, message, once_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (workflow_id, run_id, once_key) DO NOTHING`,
			ref.WorkflowID, ref.RunID, s.timeArg(l.Time), l.Level, l.Stage, l.Attempt, msg, once); err != nil {
			return err
		}
	}
	return nil
}

// ChunkLog is the run-log line that reports a committed chunk, which the
// chunk's commit writes in its own transaction (PutExtractChunk,
// LoadChunk, LoadDatasetChunk): the line is there exactly when the chunk
// is, whatever kills the worker in between, and a run spends no write of
// its own on it (on PostgreSQL a commit is a flush to disk). MaxLines is
// AppendLogs'.
type ChunkLog struct {
	MaxLines int
	Line     LogLine
}

// chunkLogs writes logs in tx: the lines of a chunk's commit.
func (s *Store) chunkLogs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, logs []ChunkLog) error {
	for _, l := range logs {
		lines := []LogLine{l.Line}
		if err := checkLevels(ref, lines); err != nil {
			return err
		}
		if err := s.appendLogs(ctx, tx, ref, l.MaxLines, lines); err != nil {
			return fmt.Errorf("write the chunk's log line: %w", err)
		}
	}
	return nil
}

// LogQuery selects lines of a run's log.
type LogQuery struct {
	// AfterID skips the lines up to and including this ID (for following).
	AfterID int64
	// MinLevel keeps lines of this level or a more severe one; "" keeps all.
	MinLevel string
	// Limit bounds the lines returned; <= 0 means no bound.
	Limit int
}

// RunLogs returns the lines of run ref in the order they were written.
func (s *Store) RunLogs(ctx context.Context, ref runinfo.RunRef, q LogQuery) ([]LogLine, error) {
	levels := LogLevels
	if q.MinLevel != "" {
		i := slices.Index(LogLevels, q.MinLevel)
		if i < 0 {
			return nil, fmt.Errorf("store: run logs: level %q is not one of %s", q.MinLevel, strings.Join(LogLevels, ", "))
		}
		levels = LogLevels[i:]
	}
	query := `SELECT id, workflow_id, run_id, logged_at, level, stage, attempt, message FROM run_logs
		WHERE workflow_id = $1 AND run_id = $2 AND id > $3 AND level IN (` + inList(len(levels), 4) + `) ORDER BY id`
	args := []any{ref.WorkflowID, ref.RunID, q.AfterID}
	for _, l := range levels {
		args = append(args, l)
	}
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	var out []LogLine
	err := s.read(ctx, func() error {
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []LogLine{}
		for rows.Next() {
			var l LogLine
			var at scanTime
			if err := rows.Scan(&l.ID, &l.WorkflowID, &l.RunID, &at, &l.Level, &l.Stage, &l.Attempt, &l.Message); err != nil {
				return err
			}
			l.Time = at.Time
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: run logs of %s: %w", ref.Key(), err)
	}
	return out, nil
}

// inList returns "$first, $first+1, ..." for n placeholders.
func inList(n, first int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", first+i)
	}
	return strings.Join(ps, ", ")
}

// DeleteLogsBefore deletes every log line written before cutoff and
// returns how many went.
func (s *Store) DeleteLogsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `DELETE FROM run_logs WHERE logged_at < $1`, s.timeArg(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete run logs before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return n, nil
}

// LastLoggedAttempt returns the highest attempt a line of stage in run
// ref's log was written by, 0 if none.
func (s *Store) LastLoggedAttempt(ctx context.Context, ref runinfo.RunRef, stage string) (int, error) {
	var n int
	if err := s.read(ctx, func() error {
		return s.dbQueryRow(ctx, `SELECT coalesce(max(attempt), 0) FROM run_logs WHERE workflow_id = $1 AND run_id = $2 AND stage = $3`,
			ref.WorkflowID, ref.RunID, stage).Scan(&n)
	}); err != nil {
		return 0, fmt.Errorf("store: last attempt of %s in %s: %w", stage, ref.Key(), err)
	}
	return n, nil
}

// ErrNoWarehouse is returned by OpenExisting when the SQLite file does not
// exist.
var ErrNoWarehouse = errors.New("no warehouse there")

// OpenExisting is Open for readers such as the CLI: it never creates a
// SQLite file, so that a command run in the wrong directory says so instead
// of reading an empty new warehouse.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if t.driver == DriverSQLite {
		if _, err := os.Stat(t.path); err != nil {
			return nil, fmt.Errorf("store: %s: %w", t.path, ErrNoWarehouse)
		}
	}
	return Open(ctx, dsn)
}

// AttemptFailure is the error of one failed attempt of a stage, as its run
// log recorded it.
type AttemptFailure struct {
	Stage   string `json:"stage"`
	Attempt int    `json:"attempt"`
	Message string `json:"message"`
}

// FailedOnce is the Once key of the line that records the error of
// attempt n of stage: one line per attempt, never dropped by the cap.
func FailedOnce(stage string, attempt int) string {
	return fmt.Sprintf("failed/%s/%d", stage, attempt)
}

// AttemptFailedMessage is the message of the line FailedOnce keys.
func AttemptFailedMessage(attempt int, cause string) string {
	return fmt.Sprintf("attempt %d failed: %s", attempt, cause)
}

// AttemptFailures lists the failed attempts recorded in run ref's log, in
// the order they were written.
func (s *Store) AttemptFailures(ctx context.Context, ref runinfo.RunRef) ([]AttemptFailure, error) {
	var out []AttemptFailure
	err := s.read(ctx, func() error {
		rows, err := s.dbQuery(ctx, `SELECT stage, once_key, message FROM run_logs
			WHERE workflow_id = $1 AND run_id = $2 AND once_key LIKE 'failed/%' ORDER BY id`, ref.WorkflowID, ref.RunID)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = nil
		for rows.Next() {
			var f AttemptFailure
			var key string
			if err := rows.Scan(&f.Stage, &key, &f.Message); err != nil {
				return err
			}
			n, err := strconv.Atoi(key[strings.LastIndexByte(key, '/')+1:])
			if err != nil {
				continue
			}
			f.Attempt = n
			f.Message = strings.TrimPrefix(f.Message, AttemptFailedMessage(n, ""))
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: attempt failures of %s: %w", ref.Key(), err)
	}
	return out, nil
}
