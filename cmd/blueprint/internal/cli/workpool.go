package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
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

// poller is one worker seen polling a task queue.
type poller struct {
	Identity string    `json:"identity"`
	LastPoll time.Time `json:"last_poll"`
	// Polls is what it polls: "workflow", "activity" or both.
	Polls []string `json:"polls"`
}

// queueView is a task queue with its deployments and workers.
type queueView struct {
	TaskQueue   string   `json:"task_queue"`
	Deployments []string `json:"deployments"`
	Workers     []poller `json:"workers"`
}

// describeQueue lists the workers polling a task queue for workflow and
// activity tasks, merged by worker identity. The server forgets a poller a
// few minutes after its last poll.
func describeQueue(ctx context.Context, c client.Client, queue string) ([]poller, error) {
	byID := map[string]*poller{}
	var order []string
	for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := c.DescribeTaskQueue(ctx, queue, kind)
		if err != nil {
			return nil, fmt.Errorf("describe task queue %s: %w", queue, err)
		}
		name := strings.ToLower(strings.TrimPrefix(kind.String(), "TASK_QUEUE_TYPE_"))
		for _, p := range resp.GetPollers() {
			w, ok := byID[p.GetIdentity()]
			if !ok {
				w = &poller{Identity: p.GetIdentity()}
				byID[p.GetIdentity()] = w
				order = append(order, p.GetIdentity())
			}
			w.Polls = append(w.Polls, name)
			if t := p.GetLastAccessTime().AsTime(); t.After(w.LastPoll) {
				w.LastPoll = t
			}
		}
	}
	slices.Sort(order)
	out := make([]poller, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}

func (a *app) workPoolLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List each task queue of the manifest with the workers polling it",
		Long: `List each distinct task queue named by the manifest's deployments, with the
workers polling it (identity, what they poll, last poll time). A queue with no
worker means its runs wait: start one with 'go run ./worker'.`,
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
				workers, err := describeQueue(ctx, c, q)
				if err != nil {
					return err
				}
				views = append(views, queueView{TaskQueue: q, Deployments: byQueue[q], Workers: workers})
			}
			if a.json() {
				return a.printJSON(views)
			}
			t := newTable(a.stdout, "TASK QUEUE", "DEPLOYMENTS", "WORKER", "POLLS", "LAST POLL")
			var idle []string
			for _, v := range views {
				deps := strings.Join(v.Deployments, ",")
				if len(v.Workers) == 0 {
					t.row(v.TaskQueue, deps, "(none)", "", "")
					idle = append(idle, v.TaskQueue)
				}
				for _, w := range v.Workers {
					t.row(v.TaskQueue, deps, w.Identity, strings.Join(w.Polls, ","), formatTime(w.LastPoll))
				}
			}
			if err := t.flush(); err != nil {
				return err
			}
			if len(idle) > 0 {
				fmt.Fprintf(a.stdout, "\nNo worker polls %s: runs there wait until one starts (go run ./worker).\n", strings.Join(idle, ", "))
			}
			return nil
		}),
	}
}
