package schedules

import "time"

// SetHedgeAfter replaces hedgeAfter for a test and returns what puts it
// back.
func SetHedgeAfter(d time.Duration) (restore func()) {
	old := hedgeAfter
	hedgeAfter = d
	return func() { hedgeAfter = old }
}
