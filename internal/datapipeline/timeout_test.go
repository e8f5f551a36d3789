package datapipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
)

func TestStageTimeoutFor(t *testing.T) {
	for _, tc := range []struct {
		rows int
		want time.Duration
	}{
		{0, datapipeline.StageTimeout},
		{1000, datapipeline.StageTimeout},
		{datapipeline.StageRows, datapipeline.StageTimeout},
		{datapipeline.StageRows + 1, 2 * datapipeline.StageTimeout},
		{100_000_000, 10 * datapipeline.StageTimeout},
	} {
		assert.Equal(t, tc.want, datapipeline.StageTimeoutFor(tc.rows), "rows %d", tc.rows)
	}
}
