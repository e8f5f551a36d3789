package runinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRetryOfRoundTrip(t *testing.T) {
	tests := []struct {
		value      string
		workflowID string
		runID      string
		ok         bool
	}{
		{"etl-1/0194b7a2-aaaa-bbbb-cccc-0123456789ab", "etl-1", "0194b7a2-aaaa-bbbb-cccc-0123456789ab", true},
		{"a/b/c/run-1", "a/b/c", "run-1", true}, // a workflow ID may hold '/'
		{"no-slash", "", "", false},
		{"/run-1", "", "", false},
		{"wf/", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			wf, run, ok := ParseRetryOf(tt.value)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.workflowID, wf)
			assert.Equal(t, tt.runID, run)
			if ok {
				assert.Equal(t, tt.value, RetryOf(wf, run))
			}
		})
	}
}
