package devserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
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

// A server that cannot come up is reported with its own words, and no
// process is left behind: the SDK's StartDevServer leaves the process
// running when it gives up, which once left a server behind in CI.
func TestStartThatFailsLeavesNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	busy := taken.Addr().(*net.TCPAddr).Port

	hang := filepath.Join(t.TempDir(), "temporal")
	require.NoError(t, os.WriteFile(hang, []byte("#!/bin/sh\necho starting\nexec sleep 600\n"), 0o755))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		bin  string // BLUEPRINT_TEMPORAL_BIN; empty: the real CLI
		ctx  context.Context
		opts devserver.Options
		want []string
	}{
		{"the CLI rejects its arguments", "", context.Background(),
			devserver.Options{ExtraArgs: []string{"--no-such-flag"}},
			[]string{"exited before it answered", "unknown flag: --no-such-flag"}},
		{"the port is taken", "", context.Background(),
			devserver.Options{Port: busy},
			[]string{fmt.Sprintf("127.0.0.1:%d", busy), "exited before it answered", "address already in use"}},
		{"the server never answers", hang, cancelled,
			devserver.Options{},
			[]string{"did not answer", "context canceled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bin != "" {
				t.Setenv("BLUEPRINT_TEMPORAL_BIN", tt.bin)
			}
			srv, err := devserver.Start(tt.ctx, tt.opts)
			require.Error(t, err)
			require.Nil(t, srv)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, testutil.Children(), "Start returned with its process still running")
		})
	}
}

// Stop waits until the server has exited, and says nothing when it shut
// down cleanly.
func TestStopWaitsForTheServer(t *testing.T) {
	srv, err := devserver.Start(context.Background(), devserver.Options{})
	require.NoError(t, err)
	srv.Client().Close()
	require.NoError(t, srv.Stop())
	assert.Empty(t, testutil.Children())
}

// A port Start picked itself and found taken when the server came to bind
// it (another process got it meanwhile) is picked again: the first UI port
// handed out here is one a listener holds.
func TestStartPicksAgainAPortTakenMeanwhile(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	busy := taken.Addr().(*net.TCPAddr).Port
	var picks int
	t.Cleanup(devserver.SetPickPort(func() (int, error) {
		picks++
		if picks == 2 { // the first try's UI port, after its frontend port
			return busy, nil
		}
		return devserver.FreePort()
	}))

	srv, err := devserver.Start(context.Background(), devserver.Options{UI: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Client().Close()
		assert.NoError(t, srv.Stop())
	})
	assert.Equal(t, 4, picks, "two tries, each picking a frontend and a UI port")
	assert.NotEqual(t, busy, srv.UIPort())
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", srv.UIPort()))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the Web UI answers on the port Start reports")
}
