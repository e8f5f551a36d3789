package deployments_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
)

// problemFor is the first problem of err about field: the one way the
// manifest tests find what a bad manifest was refused for.
func problemFor(t *testing.T, err error, field string) deployments.Problem {
	t.Helper()
	for _, p := range deployments.Problems(err) {
		if p.Field == field {
			return p
		}
	}
	require.Failf(t, "no problem for the field", "no problem for field %q in:\n%v", field, err)
	return deployments.Problem{}
}
