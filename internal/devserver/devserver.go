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
	"strings"
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
	// UI serves the Web UI, on UIPort, or on a port Start picks when
	// UIPort is 0 (Server.UIPort says which).
	UI bool
	// UIPort, when not 0, serves the Web UI on that port (else headless,
	// unless UI).
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
	uiPort   int
	out      *tail
	exited   chan struct{} // closed when the process has exited
	waitErr  error         // its Wait error, once exited is closed
}

// portTries is how many times Start picks new ports when a port it picked
// was taken before the server bound it.
const portTries = 3

// Start starts a dev server and returns it with a client for it, once the
// server answers. If it does not within a minute, or exits first, the
// process is gone when Start returns its error. When a port Start picked
// itself (Port 0, or UI without UIPort) was taken before the server bound
// it, Start tries again with new ones.
func Start(ctx context.Context, o Options) (*Server, error) {
	picked := o.Port == 0 || (o.UI && o.UIPort == 0)
	for try := 1; ; try++ {
		s, err := start(ctx, o)
		switch {
		case err == nil:
			return s, nil
		case picked && portTaken(s) && try < portTries:
			continue
		default:
			return nil, err
		}
	}
}

// pickPort is how start picks a port: FreePort, but for tests of a port
// taken meanwhile.
var pickPort = FreePort

// portTaken says whether the server s, which did not come up, said a port
// was in use.
func portTaken(s *Server) bool {
	return s != nil && strings.Contains(s.out.String(), "address already in use")
}

// start is one try of Start; when it fails it returns the dead server too,
// for its output.
func start(ctx context.Context, o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ns := o.Namespace
	if ns == "" {
		ns = conn.DefaultNamespace
	}
	if o.Port == 0 {
		if o.Port, err = pickPort(); err != nil {
			return nil, err
		}
	}
	if o.UI && o.UIPort == 0 {
		if o.UIPort, err = pickPort(); err != nil {
			return nil, err
		}
	}
	hostPort := fmt.Sprintf("127.0.0.1:%d", o.Port)
	out := &tail{}
	var w io.Writer = out
	if o.Log != nil {
		w = io.MultiWriter(o.Log, out)
	}
	cmd := exec.Command(bin, args(o, ns)...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	s := &Server{cmd: cmd, hostPort: hostPort, uiPort: o.UIPort, out: out, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	copts := client.Options{HostPort: hostPort, Namespace: ns, Logger: conn.QuietLogger(), DataConverter: o.DataConverter}
	if s.client, err = s.dial(ctx, copts); err != nil {
		s.kill()
		return s, fmt.Errorf("start dev server on %s: %w; its output ends:\n%s", hostPort, err, out.String())
	}
	return s, nil
}

// args are the `temporal server start-dev` arguments for o.
func args(o Options, ns string) []string {
	a := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(o.Port),
		"--namespace", ns,
		"--log-level", "error",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if o.UIPort == 0 { // start has picked one when o.UI
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

// UIPort is the port of the server's Web UI on 127.0.0.1 (0: headless).
func (s *Server) UIPort() int { return s.uiPort }

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

// FreePort asks the kernel for a port on 127.0.0.1 that no one listens on,
// and keeps the kernel from handing it to anyone else for a while, the way
// the Temporal CLI picks its own ports: it connects to the port and closes
// the accepted side first, which leaves that side in TIME_WAIT (60 s on
// Linux). Meanwhile neither another bind to port 0 nor an outgoing
// connection is given the port, yet a listener can still bind it by number
// (Go listeners set SO_REUSEADDR). Without that, on a machine busy with
// other tests, the port was taken between FreePort and the server's bind.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer c.Close()
	accepted, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	// Closed before the dialing side: TIME_WAIT stays on this port's side.
	if err := accepted.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return addr.Port, nil
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
