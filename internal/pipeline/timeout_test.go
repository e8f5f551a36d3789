package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

func TestStageTimeoutFor(t *testing.T) {
	for _, tc := range []struct {
		rows int
		want time.Duration
	}{
		{0, pipeline.StageTimeout},
		{1000, pipeline.StageTimeout},
		{pipeline.StageRows, pipeline.StageTimeout},
		{pipeline.StageRows + 1, 2 * pipeline.StageTimeout},
		{100_000_000, 10 * pipeline.StageTimeout},
	} {
		assert.Equal(t, tc.want, pipeline.StageTimeoutFor(tc.rows), "rows %d", tc.rows)
	}
}
