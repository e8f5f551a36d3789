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
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

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
	// Namespace the server creates and the client uses (empty: default).
	Namespace string
	// SearchAttributes the server registers at start (nil: blueprint's,
	// SearchAttributes above; a pointer to an empty set: none).
	SearchAttributes *temporal.SearchAttributes
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

// startTimeout bounds how long Start waits for a server to answer: a guard
// against a server that hangs, not a measure of how long one takes.
const startTimeout = time.Minute

// stopGrace is how long Stop lets a server shut down after SIGINT before it
// kills it: a guard against a shutdown that hangs.
const stopGrace = 30 * time.Second

// Server is a running dev server process and a client of it. Unlike the
// SDK's testsuite.DevServer, a server that does not come up is killed, not
// left behind, and one that exits while starting is reported at once with
// the end of its output.
type Server struct {
	cmd      *exec.Cmd
	client   client.Client
	hostPort string
	out      *tail
	exited   chan struct{} // closed when the process has exited
	waitErr  error         // its Wait error, once exited is closed
}

// Start starts a dev server and returns it with a client for it, once the
// server answers. If it does not within a minute, or exits first, the
// process is gone when Start returns its error.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ns := o.Namespace
	if ns == "" {
		ns = conn.DefaultNamespace
	}
	port := o.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	hostPort := fmt.Sprintf("127.0.0.1:%d", port)
	out := &tail{}
	var w io.Writer = out
	if o.Log != nil {
		w = io.MultiWriter(o.Log, out)
	}
	cmd := exec.Command(bin, args(o, ns, port)...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	s := &Server{cmd: cmd, hostPort: hostPort, out: out, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	copts := client.Options{HostPort: hostPort, Namespace: ns, Logger: conn.QuietLogger(), DataConverter: o.DataConverter}
	if s.client, err = s.dial(ctx, copts); err != nil {
		s.kill()
		return nil, fmt.Errorf("start dev server on %s: %w; its output ends:\n%s", hostPort, err, out.String())
	}
	return s, nil
}

// args are the `temporal server start-dev` arguments for o.
func args(o Options, ns string, port int) []string {
	a := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", ns,
		"--log-level", "error",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if o.UIPort == 0 {
		a = append(a, "--headless")
	} else {
		a = append(a, "--ui-port", strconv.Itoa(o.UIPort))
	}
	if o.DBFile != "" {
		a = append(a, "--db-filename", o.DBFile)
	}
	attrs := SearchAttributes
	if o.SearchAttributes != nil {
		attrs = *o.SearchAttributes
	}
	for sa := range attrs.GetUntypedValues() {
		a = append(a, "--search-attribute", sa.GetName()+"="+sa.GetValueType().String())
	}
	if !o.Untuned {
		a = append(a, TunedArgs...)
	}
	return append(a, o.ExtraArgs...)
}

// dial waits until the server answers a client, the process exits, ctx
// ends or startTimeout passes, whichever comes first.
func (s *Server) dial(ctx context.Context, copts client.Options) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := client.DialContext(ctx, copts)
		if err == nil {
			return c, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("the server exited before it answered (%v)", s.waitErr)
		case <-ctx.Done():
			return nil, fmt.Errorf("the server did not answer: %w (last: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Client is a client of the server, closed by the caller before Stop.
func (s *Server) Client() client.Client { return s.client }

// FrontendHostPort is the server's frontend address, host:port.
func (s *Server) FrontendHostPort() string { return s.hostPort }

// Stop shuts the server down gracefully (SIGINT) and waits until it has
// exited; after stopGrace it kills it. The error is the process's exit
// error, if any: a server that crashes while shutting down says so here.
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop dev server: %w", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopGrace):
		s.kill()
		return fmt.Errorf("stop dev server: it had not exited %v after SIGINT, killed", stopGrace)
	}
	if s.waitErr != nil {
		return fmt.Errorf("dev server exited with %w; its output ends:\n%s", s.waitErr, s.out.String())
	}
	return nil
}

// kill ends the process at once and waits until it has exited.
func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// FreePort asks the kernel for a port on 127.0.0.1 that no one listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last tailSize bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// ForTest starts a tuned in-memory dev server and stops it when t ends.
func ForTest(t testing.TB) *Server {
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
