// Package devserver starts a Temporal dev server for tests, benchmarks and
// the demo, with the low-latency settings DEVELOPERS.md measured. It never
// downloads anything: the binary is ./bin/temporal (make tools) or
// $BLUEPRINT_TEMPORAL_BIN.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`.
package devserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// TunedArgs lift the dev server's history and matching poll rate limits,
// which otherwise add about 110 ms to every activity.
var TunedArgs = []string{
	"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
}

// SearchAttributes are the custom search attributes blueprint uses, all
// Keyword: the dev server registers them at start.
var SearchAttributes = temporal.NewSearchAttributes(
	runinfo.DeploymentKey.ValueSet(""),
	temporal.NewSearchAttributeKeyKeyword(runinfo.RetryOfSearchAttribute).ValueSet(""),
)

// Binary finds the temporal CLI: $BLUEPRINT_TEMPORAL_BIN, else bin/temporal
// in the module root (make tools), else temporal on the PATH. When there is
// none, the error is one line that says to run make tools.
func Binary() (string, error) {
	if p := os.Getenv("BLUEPRINT_TEMPORAL_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "bin", "temporal")
	if _, err := os.Stat(p); err == nil {
		return filepath.Abs(p)
	}
	if onPath, err := exec.LookPath("temporal"); err == nil {
		return onPath, nil
	}
	return "", fmt.Errorf("the Temporal CLI is not in %s, $BLUEPRINT_TEMPORAL_BIN or the PATH: run `make tools`", filepath.Clean(p))
}

// Options tune Start.
type Options struct {
	// Untuned starts the server with default dynamic config.
	Untuned bool
	// DBFile persists state (empty: in memory).
	DBFile string
	// Port to bind the frontend (0: a free port).
	Port int
	// Log receives the server's output (nil: discarded).
	Log io.Writer
	// DataConverter of the returned client (nil: the SDK's default).
	DataConverter converter.DataConverter
	// UIPort, when not 0, serves the Web UI on that port (else headless).
	UIPort int
	// ExtraArgs are more `temporal server start-dev` arguments, e.g.
	// --dynamic-config-value settings a test needs.
	ExtraArgs []string
}

// Start starts a dev server and returns it with a client for it.
func Start(ctx context.Context, o Options) (*testsuite.DevServer, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	args := []string{}
	if !o.Untuned {
		args = append(args, TunedArgs...)
	}
	args = append(args, o.ExtraArgs...)
	out := o.Log
	if out == nil {
		out = io.Discard
	}
	copts := &client.Options{Namespace: conn.DefaultNamespace, Logger: conn.QuietLogger(), DataConverter: o.DataConverter}
	if o.Port != 0 {
		copts.HostPort = fmt.Sprintf("127.0.0.1:%d", o.Port)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath:     bin,
		ClientOptions:    copts,
		DBFilename:       o.DBFile,
		EnableUI:         o.UIPort != 0,
		UIPort:           uiPort(o.UIPort),
		LogLevel:         "error",
		SearchAttributes: SearchAttributes,
		ExtraArgs:        args,
		Stdout:           out,
		Stderr:           out,
	})
	if err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	return srv, nil
}

func uiPort(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

// ForTest starts a tuned in-memory dev server and stops it when t ends.
func ForTest(t testing.TB) *testsuite.DevServer {
	t.Helper()
	srv, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
	})
	return srv
}
