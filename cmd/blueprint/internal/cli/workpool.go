package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/fleet"
)

func (a *app) workPoolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "work-pool",
		Aliases: []string{"task-queue", "work-pools", "task-queues"},
		Short:   "Show the task queues (work pools) of the deployments and the workers polling them",
		Long: `A Temporal task queue is what Prefect calls a work pool: runs are put on it and
the workers polling it pick them up. Each deployment names its task queue.`,
		Example: `  blueprint work-pool ls
  blueprint task-queue ls -o json`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.workPoolLsCommand())
	return cmd
}

// queueView is a task queue with its deployments and workers.
type queueView struct {
	TaskQueue   string         `json:"task_queue"`
	Deployments []string       `json:"deployments"`
	Workers     []fleet.Worker `json:"workers"`
	// Online counts the live workers: only they run anything.
	Online int `json:"online"`
	// MixedWarehouses, when set, lists the different warehouses of the
	// live workers: runs there can fail.
	MixedWarehouses string `json:"mixed_warehouses,omitempty"`
}

// describeQueue lists the workers seen on a task queue, each marked online
// or offline (see package fleet).
func (a *app) describeQueue(ctx context.Context, c client.Client, queue string) (fleet.Queue, error) {
	after, err := fleet.OfflineAfter()
	if err != nil {
		return fleet.Queue{}, &badinput.Error{Err: err}
	}
	return fleet.Describe(ctx, c, queue, after, time.Now())
}

// lastSeen says when a worker last polled, for an offline one.
func lastSeen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", formatTime(t), formatDuration(time.Since(t)))
}

func (a *app) workPoolLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List each task queue of the manifest with the workers polling it",
		Long: `List each distinct task queue named by the manifest's deployments, with the
workers polling it (identity, what they poll, last poll time). A queue with no
live worker means its runs wait: start one with 'go run ./worker'.

A worker is online while it polls. The server lists a worker for minutes
after it stopped, so one whose last poll is older than 75 s (the server's
one-minute long poll plus a margin; $BLUEPRINT_WORKER_OFFLINE_AFTER) is shown
offline, with when it was last seen. Each worker's identity ends with its
warehouse (wh=...); live workers of one queue on different warehouses are
flagged, since a run's stages must share one.`,
		Example: `  blueprint work-pool ls
  blueprint work-pool ls -f deployments.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, _ []string) error {
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			queues, byQueue := deploymentQueues(m)
			views := make([]queueView, 0, len(queues))
			for _, q := range queues {
				fq, err := a.describeQueue(ctx, c, q)
				if err != nil {
					return err
				}
				views = append(views, queueView{TaskQueue: q, Deployments: byQueue[q], Workers: fq.Workers,
					Online: len(fq.Online()), MixedWarehouses: fq.MixedWarehouses()})
			}
			if a.json() {
				return a.printJSON(views)
			}
			t := newTable(a.stdout, "TASK QUEUE", "DEPLOYMENTS", "WORKER", "STATE", "POLLS", "LAST SEEN")
			var idle, mixed []string
			for _, v := range views {
				deps := strings.Join(v.Deployments, ",")
				if len(v.Workers) == 0 {
					t.row(v.TaskQueue, deps, "(none)", "", "", "")
				}
				if v.Online == 0 {
					idle = append(idle, v.TaskQueue)
				}
				if v.MixedWarehouses != "" {
					mixed = append(mixed, fmt.Sprintf("%s: %s", v.TaskQueue, v.MixedWarehouses))
				}
				for _, w := range v.Workers {
					state := "online"
					if !w.Online {
						state = "offline"
					}
					t.row(v.TaskQueue, deps, w.Identity, state, strings.Join(w.Polls, ","), formatTime(w.LastSeen))
				}
			}
			if err := t.flush(); err != nil {
				return err
			}
			if len(idle) > 0 {
				fmt.Fprintf(a.stdout, "\nNo live worker polls %s: runs there wait until one starts (go run ./worker).\n", strings.Join(idle, ", "))
			}
			for _, m := range mixed {
				fmt.Fprintf(a.stdout, "\nWorkers on different warehouses, %s: every worker of a task queue must use the same BLUEPRINT_DATABASE_URL.\n", m)
			}
			return nil
		}),
	}
}
