package starter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/starter"
)

func TestParseStartDelay(t *testing.T) {
	now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		startIn, startAt string
		want             time.Duration
		err              string // "" for no error
	}{
		{name: "neither: start now"},
		{name: "minutes", startIn: "10m", want: 10 * time.Minute},
		{name: "hours and minutes", startIn: "1h30m", want: 90 * time.Minute},
		{name: "a second", startIn: "1s", want: time.Second},
		{name: "zero", startIn: "0s", err: "--start-in 0s: must be more than zero (leave it out to start the run now)"},
		{name: "bare zero", startIn: "0", err: "--start-in 0: must be more than zero"},
		{name: "negative", startIn: "-5m", err: "--start-in -5m: must be more than zero"},
		{name: "no unit", startIn: "10", err: `--start-in "10": not a duration; use a number with a unit, e.g. 90s, 10m or 1h30m`},
		{name: "days are not a Go unit", startIn: "2d", err: `--start-in "2d": not a duration`},
		{name: "words", startIn: "soon", err: `--start-in "soon": not a duration`},
		{name: "offset time", startAt: "2026-12-01T09:00:00-06:00", want: 24 * time.Hour},
		{name: "UTC time", startAt: "2026-11-30T15:00:01Z", want: time.Second},
		{name: "fractional seconds", startAt: "2026-11-30T15:00:00.5Z", want: 500 * time.Millisecond},
		{name: "now is not the future", startAt: "2026-11-30T15:00:00Z", err: "--start-at 2026-11-30T15:00:00Z: is not in the future (it is now 2026-11-30T15:00:00Z); leave it out to start the run now"},
		{name: "past", startAt: "2026-11-30T08:59:59-06:00", err: "--start-at 2026-11-30T08:59:59-06:00: is not in the future (it is now 2026-11-30T15:00:00Z)"},
		{name: "no offset", startAt: "2026-12-01T09:00:00", err: `--start-at "2026-12-01T09:00:00": not an RFC 3339 time with a UTC offset, e.g. 2026-12-01T09:00:00-06:00 or 2026-12-01T15:00:00Z`},
		{name: "a date", startAt: "2026-12-01", err: `--start-at "2026-12-01": not an RFC 3339 time`},
		{name: "a duration", startAt: "10m", err: `--start-at "10m": not an RFC 3339 time`},
		{name: "out of range", startAt: "2026-13-01T09:00:00Z", err: `--start-at "2026-13-01T09:00:00Z": not an RFC 3339 time`},
		{name: "both", startIn: "10m", startAt: "2026-12-01T09:00:00-06:00", err: "--start-in 10m and --start-at 2026-12-01T09:00:00-06:00: give one or the other, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := starter.ParseStartDelay(tt.startIn, tt.startAt, now)
			if tt.err == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.True(t, badinput.Is(err), "bad input exits 2: %v", err)
			assert.Contains(t, err.Error(), tt.err)
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.Zero(t, got)
		})
	}
}
