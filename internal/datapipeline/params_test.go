package datapipeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStageDurationsJSONIsMilliseconds(t *testing.T) {
	d := StageDurations{Extract: 1500 * time.Millisecond, Transform: 2 * time.Millisecond, Load: time.Second, Total: 2502 * time.Millisecond}
	b, err := json.Marshal(Summary{Durations: d})
	require.NoError(t, err)
	require.Contains(t, string(b), `"durations":{"extract_ms":1500,"transform_ms":2,"load_ms":1000,"total_ms":2502}`)
	var back Summary
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, d, back.Durations)
}
