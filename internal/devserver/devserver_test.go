package devserver_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// Without the Temporal CLI the package stops at once, with one line.
func TestMain(m *testing.M) { os.Exit(testutil.RequireTemporal(m)) }

func TestStartRegistersSearchAttribute(t *testing.T) {
	srv := devserver.ForTest(t)
	ctx := context.Background()
	_, err := srv.Client().CheckHealth(ctx, nil)
	require.NoError(t, err)
	resp, err := srv.Client().OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	require.Contains(t, resp.GetCustomAttributes(), runinfo.DeploymentSearchAttribute)
}
