// Command worker polls the blueprint task queue and runs every flow of the
// flows package (their workflows and activities).
//
//	go run ./worker
//
// Connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS*, TEMPORAL_PROFILE and temporal.toml, as every Temporal tool.
// Warehouse: BLUEPRINT_DATABASE_URL (default SQLite ./data/warehouse.db);
// BLUEPRINT_WAREHOUSE_WAIT bounds the wait for an unreachable one (default 5m).
// Logs: BLUEPRINT_LOG_FORMAT=text|json, BLUEPRINT_LOG_LEVEL=debug|info|warn|error.
// Run logs (in the warehouse): BLUEPRINT_RUN_LOG_MAX_LINES (default 5000 per
// run), BLUEPRINT_RUN_LOG_RETENTION (default 720h).
// Metrics: Prometheus on BLUEPRINT_METRICS_ADDR (default 127.0.0.1:9090, "off" to disable).
// Memory: a soft heap limit of 128 MiB and GOGC=400 unless GOMEMLIMIT says
// otherwise (GOGC alone sets the GC target under that limit).
//
// It must not import `cmd`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	sdklog "go.temporal.io/sdk/log"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/fleet"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// defaultMetricsAddr serves Prometheus metrics on loopback only: expose
// them further with BLUEPRINT_METRICS_ADDR=:9090.
const defaultMetricsAddr = "127.0.0.1:9090"

// usage is what --help prints, with the registered flows for %s: the
// worker has no flags, only the environment variables below.
const usage = `Usage: blueprint-worker

Polls a Temporal task queue and runs every registered flow (%s)
with its activities. It takes no flags or arguments: it is configured by the
environment, and runs until Ctrl-C or SIGTERM.

Temporal connection (as every Temporal tool):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE (temporal.toml profiles)

Worker:
  BLUEPRINT_DATABASE_URL        warehouse (default SQLite data/warehouse.db, relative
                                to the working directory); every worker of a task
                                queue must use the same one
  BLUEPRINT_WAREHOUSE_WAIT      how long a warehouse call waits for an unreachable
                                warehouse (restart, failover, dropped connections,
                                a locked SQLite file) before the attempt fails
                                (default 5m, 0s to 1h; 0s: do not wait)
  BLUEPRINT_TASK_QUEUE          task queue to poll (default local-process-pool)
  BLUEPRINT_FILE_ROOT           directory file:// sources are confined to (default: working directory)
  BLUEPRINT_HTTP_TIMEOUT        one HTTP request to a source (default 30s)
  BLUEPRINT_MAX_RESPONSE_BYTES  largest HTTP response body (default 64 MiB)
  BLUEPRINT_HTTP_BEARER_TOKEN   sent as Authorization: Bearer to the source's origin
  BLUEPRINT_CHUNK_RECORDS       records per staged chunk (default 5000)
  BLUEPRINT_WORKFLOW_POLLERS    long polls for workflow tasks (default 8, at least 2)
  BLUEPRINT_ACTIVITY_POLLERS    long polls for activity tasks (default 8)
  BLUEPRINT_MAX_ACTIVITIES      activities running at once (default 1000)
  BLUEPRINT_LOG_FORMAT          text or json (default text)
  BLUEPRINT_LOG_LEVEL           debug, info, warn or error (default info)
  BLUEPRINT_METRICS_ADDR        Prometheus /metrics address (default 127.0.0.1:9090, off disables)
  GOMEMLIMIT                    soft heap limit (default 128MiB)
  GOGC                          GC target under the worker's own limit (default 400)

The start-up line "worker started" shows the resolved server, namespace, task
queue and warehouse (credentials hidden). A worker started while the
warehouse is unreachable says so and waits for it.
`

func main() {
	if code := parseArgs(os.Args[1:]); code >= 0 {
		os.Exit(code)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// parseArgs handles the command line, which only asks for help: it
// returns the exit code when the worker must not start (0 after --help, 2
// for anything else), -1 to go on.
func parseArgs(args []string) int {
	fs := flag.NewFlagSet("blueprint-worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(os.Stdout, usage, strings.Join(flows.Registry.Flows().Names(), ", "))
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "blueprint-worker: %v; it takes no flags (configure it with environment variables): blueprint-worker --help\n", err)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "blueprint-worker: unexpected argument %q; it takes none (configure it with environment variables): blueprint-worker --help\n", fs.Arg(0))
		return 2
	}
	return -1
}

func run() error {
	worker.LimitMemory()
	logger, err := newLogger(os.Getenv("BLUEPRINT_LOG_FORMAT"), os.Getenv("BLUEPRINT_LOG_LEVEL"))
	if err != nil {
		return err
	}
	cfg, err := worker.ConfigFromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts, settings, err := conn.Load(conn.Overrides{}, nil)
	if err != nil {
		return err
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)

	metricsAddr, explicit := os.LookupEnv("BLUEPRINT_METRICS_ADDR")
	if !explicit || metricsAddr == "" {
		metricsAddr = defaultMetricsAddr
	}
	if metricsAddr != "off" {
		handler, closer, err := serveMetrics(metricsAddr, logger)
		switch {
		case err == nil:
			opts.MetricsHandler = handler
			defer closer()
		case explicit:
			return err
		default:
			// A second worker on the same machine (scaling out) finds
			// the default port taken: it runs, without metrics.
			logger.Warn("metrics disabled: set BLUEPRINT_METRICS_ADDR to expose them", "error", err)
			metricsAddr = "off"
		}
	}

	st, err := store.OpenWaiting(ctx, cfg.DatabaseURL, &startWait{logger: logger, warehouse: store.RedactDSN(cfg.DatabaseURL)})
	if err != nil {
		return fmt.Errorf("open warehouse %s: %w", store.RedactDSN(cfg.DatabaseURL), err)
	}
	defer st.Close()
	// Before the worker polls: its activities expect their flows' tables
	// as the code declares them.
	if err := flows.Registry.MigrateTables(ctx, st); err != nil {
		return fmt.Errorf("migrate the flows' tables in %s: %w", st.Location(), err)
	}

	c, err := conn.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()

	go worker.PruneRunLogs(ctx, st, cfg.RunLog.Retention, func(n int64, err error) {
		switch {
		case err != nil:
			logger.Warn("could not delete old run log lines", "error", err)
		case n > 0:
			logger.Info("deleted old run log lines", "lines", n, "retention", cfg.RunLog.Retention)
		}
	})
	w := worker.New(c, st, cfg, flows.Registry)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", cfg.TaskQueue, err)
	}
	logger.Info("worker started", "address", settings.Address, "namespace", settings.Namespace,
		"task_queue", cfg.TaskQueue, "warehouse", st.Location(), "warehouse_id", "wh="+st.Fingerprint(),
		"identity", fleet.Identity(st.Fingerprint()), "metrics", metricsAddr, "pid", os.Getpid())
	<-ctx.Done()
	logger.Info("shutting down: letting running activities finish", "timeout", worker.StopTimeout)
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("BLUEPRINT_LOG_LEVEL=%q: must be debug, info, warn or error", level)
		}
	}
	hopts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(os.Stderr, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, hopts)), nil
	default:
		return nil, fmt.Errorf("BLUEPRINT_LOG_FORMAT=%q: must be text or json", format)
	}
}

// serveMetrics exposes the SDK's metrics and the pipeline's row counters in
// Prometheus format on addr.
func serveMetrics(addr string, logger *slog.Logger) (client.MetricsHandler, func(), error) {
	reporter := tallyprom.NewReporter(tallyprom.Options{})
	scope, scopeCloser := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = scopeCloser.Close()
		return nil, nil, fmt.Errorf("metrics listener on %s (set BLUEPRINT_METRICS_ADDR, or off): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", reporter.HTTPHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "error", err)
		}
	}()
	closer := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = scopeCloser.Close()
	}
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer, nil
}

// startWaitReport is how often a worker waiting for its warehouse at
// start-up says that it still waits.
const startWaitReport = time.Minute

// startWait logs the worker's wait for an unreachable warehouse at
// start-up: at once, then every startWaitReport, and when it is back.
type startWait struct {
	logger    *slog.Logger
	warehouse string
	reported  time.Time
}

func (s *startWait) Call() func() { return func() {} }

func (s *startWait) Waiting(w store.Wait) {
	switch {
	case w.Tries == 0:
		s.logger.Warn("the warehouse is unreachable: waiting for it (Ctrl-C to stop)", "warehouse", s.warehouse, "cause", w.Cause)
	case time.Since(s.reported) >= startWaitReport:
		s.logger.Warn("still waiting for the warehouse", "warehouse", s.warehouse, "cause", w.Cause,
			"waiting_for", time.Since(w.Since).Round(time.Second))
	default:
		return
	}
	s.reported = time.Now()
}

func (s *startWait) Waited(w store.Wait, back bool) {
	if back {
		s.logger.Info("the warehouse is reachable", "warehouse", s.warehouse, "waited", time.Since(w.Since).Round(time.Second))
	}
}
