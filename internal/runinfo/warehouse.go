package runinfo

import "time"

// A warehouse outage is waited out inside the activity that meets it
// (see internal/store), not counted as a failed attempt: these bound the
// wait and carry it to the run's current details.
const (
	// DefaultWarehouseWait is how long one call waits for an unreachable
	// warehouse before it fails, unless the worker's
	// BLUEPRINT_WAREHOUSE_WAIT says otherwise: longer than a routine
	// database restart or failover (10-60 s).
	DefaultWarehouseWait = 5 * time.Minute
	// MaxWarehouseWait is the longest wait BLUEPRINT_WAREHOUSE_WAIT may
	// set. The bookkeeping of a run's outcome retries for at least this
	// long (see internal/flowrun), so the outcome is recorded once the
	// warehouse is back.
	MaxWarehouseWait = time.Hour

	// WarehouseWaitSignal carries a WarehouseWait: an activity sends it to
	// its own workflow when it starts and stops waiting for the warehouse,
	// so that the run's current details say so.
	WarehouseWaitSignal = "blueprint-warehouse-wait"
)

// WarehouseWait says that an activity waits for the warehouse: in the
// activity's heartbeat (Checkpoint.Waiting) and in WarehouseWaitSignal.
type WarehouseWait struct {
	// Activity is the waiting activity's type (Extract, FinishRun, ...).
	Activity string `json:"activity"`
	// Cause says why the warehouse is unreachable, without secrets.
	Cause string `json:"cause"`
	// Since is when the wait started.
	Since time.Time `json:"since"`
	// Over: the wait ended, the warehouse is back or the activity gave up
	// (a signal only).
	Over bool `json:"over,omitempty"`
}
