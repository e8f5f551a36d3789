package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/schedules"
	"github.com/blueprint-etl/blueprint/starter"
)

// uiTimeout bounds the Web UI check.
const uiTimeout = 2 * time.Second

// check is one line of `blueprint status`.
type check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type statusReport struct {
	OK     bool    `json:"ok"`
	Checks []check `json:"checks"`
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Check the server, namespace, Web UI, warehouse, workers and schedules; exit 0 only if all are fine",
		Long: `Check, one line each (✓ or ✗):

  - the Temporal server is reachable and healthy;
  - the namespace exists;
  - the Web UI answers ($BLUEPRINT_UI_URL, default ` + starter.DefaultUIURL + `);
  - the warehouse is reachable from here ($BLUEPRINT_DATABASE_URL, else the
    SQLite file ` + store.DefaultSQLitePath + ` when it exists here: the workers' may be
    elsewhere);
  - a live worker polls each task queue of the manifest's deployments (one
    whose last poll is older than 75 s, $BLUEPRINT_WORKER_OFFLINE_AFTER, is
    offline), and the live workers of a queue share one warehouse;
  - each scheduled deployment's schedule is deployed and matches the manifest,
    with its paused state and next run.

Exits 0 when every check passes, 1 otherwise: usable in scripts and health checks.`,
		Example: `  blueprint status
  blueprint status -f deployments.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, _ []string) error {
			if _, _, err := a.loadSettings(); err != nil {
				return err // a broken configuration is bad input, not a failed check
			}
			ctx = srv.deadline(ctx)
			checks := a.runChecks(ctx, m)
			report := statusReport{OK: true, Checks: checks}
			for _, c := range checks {
				report.OK = report.OK && c.OK
			}
			if a.json() {
				if err := a.printJSON(report); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "✓"
					if !c.OK {
						mark = "✗"
					}
					fmt.Fprintf(a.stdout, "%s %s\n", mark, c.Detail)
				}
			}
			if !report.OK {
				failed := 0
				for _, c := range checks {
					if !c.OK {
						failed++
					}
				}
				return exitError(ExitFailure, fmt.Errorf("%s of %d failed", plural(failed, "check"), len(checks)))
			}
			return nil
		}),
	}
}

func (a *app) runChecks(ctx context.Context, m *deployments.Manifest) []check {
	var checks []check
	add := func(name string, ok bool, format string, args ...any) {
		checks = append(checks, check{Check: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}

	c, err := a.connect(ctx)
	if err != nil {
		add("server", false, "%s", oneLine(err.Error()))
		return append(checks, localChecks(ctx)...)
	}
	settings := a.settings
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		add("server", false, "Temporal server at %s is reachable but not healthy: %v", settings.Address, err)
		return append(checks, localChecks(ctx)...)
	}
	add("server", true, "Temporal server at %s is reachable and healthy", settings.Address)

	ns := settings.Namespace
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		add("namespace", false, "namespace %s: %v", ns, oneLine(err.Error()))
		return append(checks, localChecks(ctx)...)
	}
	add("namespace", true, "namespace %s exists", ns)
	checks = append(checks, localChecks(ctx)...)

	queues, byQueue := deploymentQueues(m)
	for _, q := range queues {
		fq, err := a.describeQueue(ctx, c, q)
		if err != nil {
			add("worker", false, "task queue %s: %v", q, oneLine(err.Error()))
			continue
		}
		online, offline := fq.Online(), fq.Offline()
		gone := ""
		if len(offline) > 0 {
			ids := make([]string, 0, len(offline))
			for _, w := range offline {
				ids = append(ids, fmt.Sprintf("%s last seen %s", w.Identity, lastSeen(w.LastSeen)))
			}
			gone = fmt.Sprintf("; offline: %s", strings.Join(ids, ", "))
		}
		switch {
		case len(online) == 0 && len(offline) == 0:
			add("worker", false, "no worker polls task queue %s (deployments %s): start one with go run ./worker", q, strings.Join(byQueue[q], ", "))
		case len(online) == 0:
			add("worker", false, "no live worker polls task queue %s (deployments %s)%s; start one with go run ./worker",
				q, strings.Join(byQueue[q], ", "), gone)
		default:
			ids := make([]string, 0, len(online))
			for _, w := range online {
				ids = append(ids, w.Identity)
			}
			add("worker", true, "%s polling task queue %s: %s%s", plural(len(online), "live worker"), q, strings.Join(ids, ", "), gone)
			if mixed := fq.MixedWarehouses(); mixed != "" {
				add("warehouse", false, "workers of task queue %s use different warehouses: %s; every worker of a task queue must use the same BLUEPRINT_DATABASE_URL (each logs its warehouse at start-up)", q, mixed)
			}
		}
	}

	states, changes, err := scheduleStates(ctx, c, ns, m)
	if err != nil {
		add("schedule", false, "schedules: %s", oneLine(err.Error()))
		return checks
	}
	for _, d := range m.Deployments {
		for i, s := range d.Schedules {
			id := d.ScheduleID(i)
			st, ch := states[id], changes[id]
			switch {
			case !st.Deployed:
				add("schedule", false, "schedule %s is not deployed: run blueprint deploy", id)
			case !st.Managed:
				add("schedule", false, "schedule %s: %s", id, notManagedDiff)
			case ch != nil && ch.Action != schedules.Unchanged:
				add("schedule", false, "schedule %s differs from the manifest (%s): run blueprint deploy", id, strings.Join(ch.Diff, "; "))
			case st.Paused:
				add("schedule", true, "schedule %s deployed, paused (note: %q)", id, st.Note)
			default:
				next := "none"
				if len(st.NextRuns) > 0 {
					loc := s.Location
					if loc == nil {
						loc = time.UTC
					}
					next = st.NextRuns[0].In(loc).Format("2006-01-02 15:04 MST")
				}
				add("schedule", true, "schedule %s deployed, active, next run %s", id, next)
			}
		}
	}
	return checks
}

// localChecks are the checks of what this machine reaches besides the
// Temporal server: the Web UI and the warehouse.
func localChecks(ctx context.Context) []check {
	return []check{uiCheck(ctx), warehouseCheck(ctx)}
}

// warehouseTimeout bounds the warehouse check.
const warehouseTimeout = 5 * time.Second

// warehouseCheck connects to the warehouse of $BLUEPRINT_DATABASE_URL, or
// to the default SQLite file when it exists here. It never prints the
// DSN's password, nor the driver's message, which may quote the user.
func warehouseCheck(ctx context.Context) check {
	dsn := os.Getenv(envDatabaseURL)
	where, err := store.Locate(dsn)
	if err != nil {
		return check{Check: "warehouse", Detail: fmt.Sprintf("warehouse: $%s: %s", envDatabaseURL, oneLine(redactWarehouseError(err, dsn)))}
	}
	ctx, cancel := context.WithTimeout(ctx, warehouseTimeout)
	defer cancel()
	st, err := store.OpenExisting(ctx, dsn)
	switch {
	case err == nil:
		defer st.Close()
		return check{Check: "warehouse", OK: true, Detail: fmt.Sprintf("warehouse %s is reachable from here", st.Location())}
	case errors.Is(err, store.ErrNoWarehouse) && dsn == "":
		return check{Check: "warehouse", OK: true, Detail: fmt.Sprintf("no warehouse at %s here: the workers' was not checked (set %s to check it)", store.DefaultSQLitePath, envDatabaseURL)}
	case errors.Is(err, store.ErrNoWarehouse):
		return check{Check: "warehouse", Detail: fmt.Sprintf("warehouse %s does not exist here (check %s)", where, envDatabaseURL)}
	case store.IsConnectionError(err) || errors.Is(err, context.DeadlineExceeded):
		cause := store.WaitCause(err)
		if errors.Is(err, context.DeadlineExceeded) {
			cause = fmt.Sprintf("no answer within %s", warehouseTimeout)
		}
		return check{Check: "warehouse", Detail: fmt.Sprintf("warehouse %s is unreachable from here: %s (workers wait up to $%s, default %s, for it to come back)",
			where, cause, store.EnvWait, runinfo.DefaultWarehouseWait)}
	default:
		return check{Check: "warehouse", Detail: fmt.Sprintf("warehouse %s: %s", where, oneLine(redactWarehouseError(err, dsn)))}
	}
}

// redactWarehouseError is err's message without the DSN's password.
func redactWarehouseError(err error, dsn string) string {
	msg := err.Error()
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, store.RedactDSN(dsn))
	}
	return msg
}

// uiCheck asks the Web UI for its front page.
func uiCheck(ctx context.Context) check {
	base := strings.TrimRight(os.Getenv("BLUEPRINT_UI_URL"), "/")
	if base == "" {
		base = starter.DefaultUIURL
	}
	ctx, cancel := context.WithTimeout(ctx, uiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	if err != nil {
		return check{Check: "web_ui", Detail: fmt.Sprintf("Web UI at %s: %v", base, err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return check{Check: "web_ui", Detail: fmt.Sprintf("Web UI at %s does not answer (set BLUEPRINT_UI_URL if it runs elsewhere): %v", base, oneLine(err.Error()))}
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 500 {
		return check{Check: "web_ui", Detail: fmt.Sprintf("Web UI at %s answers %s", base, resp.Status)}
	}
	return check{Check: "web_ui", OK: true, Detail: fmt.Sprintf("Web UI at %s is reachable", base)}
}
