package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/schedules"
	"github.com/blueprint-etl/blueprint/starter"
)

func (a *app) deploymentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deployment",
		Aliases: []string{"deployments"},
		Short:   "List, inspect, pause, resume, backfill, trigger and run deployments",
		Long: `A deployment is a named way of running the pipeline: a workflow, a task queue,
parameters and an optional schedule, declared in the manifest (deployments.yaml).
These commands read the manifest and the server's schedule of each deployment.`,
		Example: `  blueprint deployment ls
  blueprint deployment inspect production-etl
  blueprint deployment pause production-etl --note "source migration"
  blueprint deployment backfill production-etl --from 2025-01-01T00:00:00Z --to 2025-01-08T00:00:00Z`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(
		a.deploymentLsCommand(),
		a.deploymentInspectCommand(),
		a.pauseCommand(true),
		a.pauseCommand(false),
		a.backfillCommand(),
		a.triggerCommand(),
		a.runCommand("run"),
	)
	return cmd
}

// scheduleView is one schedule of a deployment, manifest and server
// combined.
type scheduleView struct {
	// Slug names the schedule within the deployment (--schedule SLUG).
	Slug string `json:"slug"`
	// ScheduleID is the Temporal Schedule's ID.
	ScheduleID string `json:"schedule_id"`
	// Cron is empty for an interval schedule, Interval (and Offset) for a
	// cron schedule.
	Cron     string `json:"cron"`
	Interval string `json:"interval,omitempty"`
	Offset   string `json:"offset,omitempty"`
	Timezone string `json:"timezone"`
	Overlap  string `json:"overlap"`
	// Durations are Go duration strings ("1h0m0s"), as in the manifest.
	CatchupWindow string `json:"catchup_window"`
	Jitter        string `json:"jitter"`
	// Parameters are the schedule's own, merged over the deployment's
	// (absent when it has none).
	Parameters map[string]any `json:"parameters,omitempty"`
	// Deployed: the server has the schedule.
	Deployed bool `json:"deployed"`
	// Managed: blueprint created it (else deploy leaves it alone).
	Managed bool `json:"managed"`
	// UpToDate: the server's schedule matches the manifest.
	UpToDate bool `json:"up_to_date"`
	// Differences from the manifest, as deploy would print them.
	Differences []string  `json:"differences"`
	Paused      bool      `json:"paused"`
	Note        string    `json:"note"`
	NextRuns    []runTime `json:"next_runs"`
	// NextRunsFrom says where NextRuns come from: "server" or "manifest"
	// (computed locally for a schedule not deployed yet).
	NextRunsFrom string `json:"next_runs_from"`
}

// when says in one line when the schedule fires, as `deployment ls` shows it.
func (s scheduleView) when() string {
	if s.Interval != "" {
		d, _ := time.ParseDuration(s.Interval)
		o, _ := time.ParseDuration(s.Offset)
		return deployments.FormatInterval(d, o)
	}
	return s.Cron
}

type runTime struct {
	Local time.Time `json:"local"` // in the schedule's time zone
	UTC   time.Time `json:"utc"`
}

// deploymentView is a deployment as `deployment ls/inspect -o json` print it.
type deploymentView struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Tags        []string       `json:"tags"`
	Workflow    string         `json:"workflow"`
	TaskQueue   string         `json:"task_queue"`
	Parameters  map[string]any `json:"parameters"`
	// Notify are the webhooks told when a run ends (variable names only).
	Notify []runinfo.Webhook `json:"notify"`
	// TriggeredAfter are the deployment's own triggers: its runs start
	// after runs of these deployments end. Triggers are the other way:
	// the deployments whose triggers: start runs after a run of this one.
	TriggeredAfter []triggerView `json:"triggered_after"`
	Triggers       []triggerView `json:"triggers"`
	// ConcurrencyLimit is how many of its runs may run at once (0: no
	// limit) and CollisionStrategy what a run over it does ("" without a
	// limit). Holders and Queue (inspect, with a limit) are the runs
	// holding a slot and those waiting for one, from the semaphore;
	// ConcurrencyError says why they are unknown.
	ConcurrencyLimit  int               `json:"concurrency_limit"`
	CollisionStrategy string            `json:"collision_strategy"`
	Holders           *[]runinfo.RunRef `json:"holders,omitempty"`
	Queue             *[]runinfo.RunRef `json:"queue,omitempty"`
	ConcurrencyError  string            `json:"concurrency_error,omitempty"`
	// Schedule is the first of Schedules (the one whose ID is the
	// deployment name), null without one: what scripts written for one
	// schedule per deployment read.
	Schedule   *scheduleView  `json:"schedule"`
	Schedules  []scheduleView `json:"schedules"`
	RecentRuns []runRow       `json:"recent_runs,omitempty"`
	// Manifest is the file the deployment was read from (inspect).
	Manifest string `json:"manifest,omitempty"`
}

// triggerView is one triggers: entry as `deployment inspect -o json`
// prints it: Deployment is the other end (the upstream one in
// triggered_after, the downstream one in triggers) and Index the entry in
// the downstream deployment's triggers:.
type triggerView struct {
	Deployment string            `json:"deployment"`
	Index      int               `json:"index"`
	On         []string          `json:"on"`
	Delay      string            `json:"delay"`
	Parameters map[string]any    `json:"parameters"`
	Templates  map[string]string `json:"templates"`
	when       string            // deployments.TriggerSpec.When
}

func viewTrigger(other string, index int, t deployments.TriggerSpec) triggerView {
	v := triggerView{Deployment: other, Index: index, On: nonNil(t.On), Delay: t.Delay.String(),
		Parameters: map[string]any{}, Templates: map[string]string{}, when: t.When()}
	if t.Parameters != nil {
		v.Parameters = redact.Object(t.Parameters)
	}
	if t.Templates != nil {
		v.Templates = t.Templates
	}
	return v
}

// String is the trigger on one line, after its deployment.
func (t triggerView) String() string { return t.Deployment + " " + t.when }

// viewDeployment combines a deployment with its server schedules; states
// and changes are keyed by schedule ID (a missing change: not planned).
func viewDeployment(d deployments.Deployment, states map[string]schedules.Status, changes map[string]*schedules.Change, nextRuns int) deploymentView {
	v := deploymentView{
		Name: d.Name, Description: d.Description, Tags: nonNil(d.Tags),
		Workflow: d.Workflow, TaskQueue: d.TaskQueue, Parameters: map[string]any{}, Schedules: []scheduleView{},
		Notify: nonNil(d.Notify), TriggeredAfter: []triggerView{}, Triggers: []triggerView{},
		ConcurrencyLimit: d.ConcurrencyLimit, CollisionStrategy: d.CollisionStrategy,
	}
	for j, t := range d.Triggers {
		v.TriggeredAfter = append(v.TriggeredAfter, viewTrigger(t.After, j, t))
	}
	for _, ds := range d.Downstream() {
		v.Triggers = append(v.Triggers, viewTrigger(ds.Deployment.Name, ds.Index, ds.Trigger()))
	}
	if p, err := d.Params(); err == nil {
		v.Parameters = redact.Object(p)
	}
	slugs := d.Slugs()
	for i, s := range d.Schedules {
		id := d.ScheduleID(i)
		st, change := states[id], changes[id]
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		sv := scheduleView{
			Slug: slugs[i], ScheduleID: id,
			Cron: s.Cron, Timezone: s.Timezone, Overlap: s.Overlap, CatchupWindow: s.CatchupWindow.String(), Jitter: s.Jitter.String(),
			Deployed: st.Deployed, Managed: st.Managed, Paused: st.Paused, Note: st.Note, Differences: []string{}, NextRuns: []runTime{},
		}
		if s.Interval > 0 {
			sv.Interval, sv.Offset = s.Interval.String(), s.Offset.String()
		}
		if len(s.Parameters) > 0 {
			if p, err := d.ForSchedule(i).Params(); err == nil {
				sv.Parameters = redact.Object(p)
			}
		}
		if change != nil {
			sv.UpToDate = change.Action == schedules.Unchanged
			sv.Differences = nonNil(change.Diff)
		}
		times := st.NextRuns
		sv.NextRunsFrom = "server"
		if !st.Deployed || !st.Managed {
			times = s.Next(time.Now(), nextRuns)
			sv.NextRunsFrom = "manifest"
		}
		for i, t := range times {
			if i == nextRuns {
				break
			}
			sv.NextRuns = append(sv.NextRuns, runTime{Local: t.In(loc), UTC: t.UTC()})
		}
		v.Schedules = append(v.Schedules, sv)
	}
	if len(v.Schedules) > 0 {
		v.Schedule = &v.Schedules[0]
	}
	return v
}

// notManagedDiff explains why a schedule is not up to date when blueprint
// did not create it.
const notManagedDiff = schedules.NotManaged

// scheduleStates describes the server schedule of every schedule of m, and
// compares them with the manifest to tell which are up to date; both maps
// are keyed by schedule ID. Each schedule is described once (see
// schedules.Survey). A schedule blueprint did not create is reported as
// differing, not as an error, so that listing and status still show
// everything else.
func scheduleStates(ctx context.Context, c client.Client, ns string, m *deployments.Manifest) (map[string]schedules.Status, map[string]*schedules.Change, error) {
	states, plan, err := schedules.Survey(ctx, c, ns, m)
	if err != nil {
		return nil, nil, err
	}
	changes := map[string]*schedules.Change{}
	for i, ch := range plan.Changes {
		changes[ch.ScheduleID] = &plan.Changes[i]
	}
	return states, changes, nil
}

func (a *app) deploymentLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the manifest's deployments with their schedules' state on the server",
		Long: `List every deployment of the manifest: workflow, task queue, schedule (cron or
interval, and time zone), the schedule's state on the server (active, paused,
not deployed, or differs: the server's schedule does not match the manifest;
run 'blueprint deploy --dry-run' to see how) and the next run time. A
deployment with several schedules has a row per schedule, the slug in brackets.`,
		Example: `  blueprint deployment ls
  blueprint deployment ls -f deployments.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, _ []string) error {
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			states, changes, err := scheduleStates(ctx, c, a.settings.Namespace, m)
			if err != nil {
				return err
			}
			views := make([]deploymentView, 0, len(m.Deployments))
			for _, d := range m.Deployments {
				views = append(views, viewDeployment(d, states, changes, 1))
			}
			if a.json() {
				return a.printJSON(views)
			}
			t := newTable(a.stdout, "NAME", "WORKFLOW", "TASK QUEUE", "SCHEDULE", "STATE", "NEXT RUN")
			for _, v := range views {
				if len(v.Schedules) == 0 {
					t.row(v.Name, v.Workflow, v.TaskQueue, "", "", "")
					continue
				}
				// Each schedule takes a row, named by its slug when the
				// deployment has several.
				for _, s := range v.Schedules {
					sched := s.when() + " " + s.Timezone
					if len(v.Schedules) > 1 {
						sched += " [" + s.Slug + "]"
					}
					next := ""
					if len(s.NextRuns) > 0 && s.Deployed && s.Managed && !s.Paused {
						next = s.NextRuns[0].Local.Format("2006-01-02 15:04 MST")
					}
					t.row(v.Name, v.Workflow, v.TaskQueue, sched, scheduleState(&s), next)
				}
			}
			return t.flush()
		}),
	}
}

// scheduleState is a one-word state for tables.
func scheduleState(s *scheduleView) string {
	switch {
	case !s.Deployed:
		return "not deployed"
	case !s.Managed:
		return "unmanaged"
	case !s.UpToDate && s.Paused:
		return "paused, differs"
	case !s.UpToDate:
		return "differs"
	case s.Paused:
		return "paused"
	default:
		return "active"
	}
}

func (a *app) deploymentInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME",
		Short: "Show a deployment: parameters, schedules, next runs and recent runs",
		Long: `Show everything about one deployment: its parameters (defaults filled in), task
queue and schedules; for each schedule, whether it is deployed, up to date,
paused (and why), its own parameters if it has any, and its next 5 run times in
the schedule's time zone and in UTC (from the server when deployed, else
computed from the manifest, intervals counted from the Unix epoch plus the
offset as the server does); its triggers: the deployments whose runs it starts
after ("Triggered after") and those that start after its runs ("Triggers"); its
concurrency limit, with the runs holding its slots and those waiting for one
(asked of the deployment's semaphore); and the deployment's recent runs,
whether started by a schedule, a backfill, a trigger or by hand.`,
		Example: `  blueprint deployment inspect production-etl
  blueprint deployment inspect production-etl -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			d, err := m.Get(args[0])
			if err != nil {
				return err
			}
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			one := &deployments.Manifest{Path: m.Path, Deployments: []deployments.Deployment{d}, Flows: m.Flows}
			states, changes, err := scheduleStates(ctx, c, a.settings.Namespace, one)
			if err != nil {
				return err
			}
			v := viewDeployment(d, states, changes, 5)
			v.Manifest = m.Path
			v.RecentRuns, err = listRuns(ctx, c, a.settings.Namespace, runFilter{flows: a.flows, deployment: d.Name}, 10)
			if err != nil {
				return err
			}
			v.RecentRuns = nonNil(v.RecentRuns)
			if d.ConcurrencyLimit > 0 {
				state, err := semaphoreState(ctx, c, d.Name)
				if err != nil {
					v.ConcurrencyError = err.Error()
				}
				v.Holders, v.Queue = &state.Holders, &state.Queue
			}
			if a.json() {
				return a.printJSON(v)
			}
			return a.printInspect(v)
		}),
	}
}

func (a *app) printInspect(v deploymentView) error {
	w := a.stdout
	f := newFields(w, "")
	f.add("Name", "%s", v.Name)
	if v.Manifest != "" {
		f.add("Manifest", "%s", v.Manifest)
	}
	if v.Description != "" {
		f.add("Description", "%s", v.Description)
	}
	if len(v.Tags) > 0 {
		f.add("Tags", "%s", strings.Join(v.Tags, ", "))
	}
	f.add("Workflow", "%s", v.Workflow)
	f.add("Task queue", "%s", v.TaskQueue)
	f.add("Parameters", "%s", deployments.FormatParams(v.Parameters))
	if len(v.Notify) > 0 {
		hooks := make([]string, len(v.Notify))
		for i, h := range v.Notify {
			hooks[i] = h.String()
		}
		f.add("Notify", "%s", strings.Join(hooks, ", "))
	}
	if len(v.TriggeredAfter) > 0 {
		f.add("Triggered after", "%s", joinTriggers(v.TriggeredAfter))
	}
	if len(v.Triggers) > 0 {
		f.add("Triggers", "%s", joinTriggers(v.Triggers))
	}
	if v.ConcurrencyLimit > 0 {
		f.add("Concurrency limit", "%d (%s)", v.ConcurrencyLimit, v.CollisionStrategy)
		switch {
		case v.ConcurrencyError != "":
			f.add("Slots", "unknown: %s", v.ConcurrencyError)
		case v.Holders != nil:
			f.add("Slots", "%s", formatSlots(v.ConcurrencyLimit, *v.Holders))
			if len(*v.Queue) > 0 {
				f.add("Waiting", "%d: %s", len(*v.Queue), formatRefs(*v.Queue))
			}
		}
	}
	if len(v.Schedules) == 0 {
		f.add("Schedule", "none (start runs with: blueprint run %s)", v.Name)
		if err := f.flush(); err != nil {
			return err
		}
	}
	for i, s := range v.Schedules {
		if i > 0 {
			fmt.Fprintln(w)
			f = newFields(w, "")
		}
		if err := printScheduleView(w, f, s, len(v.Schedules)); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nRecent runs:")
	if len(v.RecentRuns) == 0 {
		fmt.Fprintf(w, "  none (start one with: blueprint run %s)\n", v.Name)
		return nil
	}
	return printRunRows(w, v.RecentRuns, "  ")
}

func joinTriggers(ts []triggerView) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, "; ")
}

// printScheduleView adds one schedule's fields to f, flushes them and
// prints its next runs. of is the number of schedules of the deployment:
// with several, each says which it is.
func printScheduleView(w io.Writer, f *fields, s scheduleView, of int) error {
	if of > 1 {
		f.add("Schedule ID", "%s (slug %s)", s.ScheduleID, s.Slug)
	}
	f.add("Schedule", "%s (%s)", s.when(), s.Timezone)
	if s.Interval != "" {
		f.add("Interval", "every %s from the Unix epoch plus %s", s.Interval, s.Offset)
	}
	if s.Parameters != nil {
		f.add("Parameters", "%s (this schedule's)", deployments.FormatParams(s.Parameters))
	}
	f.add("Overlap", "%s", s.Overlap)
	f.add("Catch-up window", "%s", s.CatchupWindow)
	f.add("Jitter", "%s", s.Jitter)
	switch {
	case !s.Deployed:
		f.add("Deployed", "no (run: blueprint deploy)")
	case !s.Managed:
		f.add("Deployed", "no: %s", notManagedDiff)
	case s.UpToDate:
		f.add("Deployed", "yes, up to date")
	default:
		f.add("Deployed", "yes, but differs from the manifest: %s (run: blueprint deploy)", strings.Join(s.Differences, "; "))
	}
	if s.Deployed {
		state := "active"
		if s.Paused {
			state = "paused"
		}
		// A note says why a schedule is paused. Temporal keeps the
		// last one after a resume, where it would only be stale.
		if s.Paused && s.Note != "" {
			state += fmt.Sprintf(" (note: %q)", s.Note)
		}
		f.add("State", "%s", state)
	}
	if err := f.flush(); err != nil {
		return err
	}
	from := "from the server"
	if s.NextRunsFrom == "manifest" {
		from = "computed from the manifest: not deployed"
	}
	if s.Paused {
		from += "; paused: these will not start until resumed"
	}
	fmt.Fprintf(w, "\nNext runs (%s):\n", from)
	if inUTC(s.NextRuns) {
		// A second column would repeat the first.
		t := newTable(w, "  UTC")
		for _, r := range s.NextRuns {
			t.row("  " + r.UTC.Format("2006-01-02 15:04:05Z07:00"))
		}
		return t.flush()
	}
	t := newTable(w, "  "+strings.ToUpper(s.Timezone), "UTC")
	for _, r := range s.NextRuns {
		t.row("  "+r.Local.Format("2006-01-02 15:04:05 MST"), r.UTC.Format("2006-01-02 15:04:05Z07:00"))
	}
	return t.flush()
}

// inUTC tells whether every run time is the same in the schedule's time
// zone as in UTC (a UTC, Etc/UTC or empty time zone).
func inUTC(runs []runTime) bool {
	for _, r := range runs {
		if _, offset := r.Local.Zone(); offset != 0 {
			return false
		}
	}
	return true
}

// scheduledDeployment gets a deployment that must have a schedule.
func scheduledDeployment(m *deployments.Manifest, name string) (deployments.Deployment, error) {
	d, err := m.Get(name)
	if err != nil {
		return d, err
	}
	if len(d.Schedules) == 0 {
		return d, usagef("deployment %q has no schedule in %s; add a `schedule:` to it and run blueprint deploy", name, m.Path)
	}
	return d, nil
}

// pickSchedules returns the indexes of the deployment's schedules a
// command acts on: the one whose slug is slug, else all of them, or only
// the first when all is false.
func pickSchedules(d deployments.Deployment, slug string, all bool) ([]int, error) {
	switch {
	case slug != "":
		i, err := d.ScheduleBySlug(slug)
		if err != nil {
			return nil, usagef("--schedule: %w", err)
		}
		return []int{i}, nil
	case all:
		out := make([]int, len(d.Schedules))
		for i := range out {
			out[i] = i
		}
		return out, nil
	default:
		return []int{0}, nil
	}
}

// scheduleFlag is the help of --schedule.
func scheduleFlag(what string) string {
	return "the slug of the schedule to " + what + ", for a deployment with several (deployment inspect lists them)"
}

func (a *app) pauseCommand(pause bool) *cobra.Command {
	var note, slug string
	verb, past, other := "pause", "Paused", "resume"
	short := "Pause a deployment's schedule: no new runs start until it is resumed"
	long := `Pause the deployment's Temporal Schedule, with a note saying why (shown by
'deployment inspect' and the Web UI). Runs already started keep going.

The pause survives 'blueprint deploy': deploy only changes the paused state when
the manifest says "paused: true" or "paused: false" (or "active:").

A deployment with several schedules has all of them paused, or only the one
--schedule SLUG names.`
	if !pause {
		verb, past, other = "resume", "Resumed", "pause"
		short = "Resume a paused deployment's schedule"
		long = `Resume the deployment's Temporal Schedule. Runs missed while it was paused are
not started; use 'blueprint deployment backfill' for those.

A deployment with several schedules has all of them resumed, or only the one
--schedule SLUG names.`
	}
	cmd := &cobra.Command{
		Use:     verb + " NAME",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  blueprint deployment %s production-etl --note \"upstream outage, ticket OPS-42\"", verb),
		Args:    cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			d, err := scheduledDeployment(m, args[0])
			if err != nil {
				return err
			}
			picked, err := pickSchedules(d, slug, true)
			if err != nil {
				return err
			}
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			n := note
			if n == "" {
				n = fmt.Sprintf("%sd with blueprint deployment %s", verb, verb)
			}
			ids := make([]string, 0, len(picked))
			for _, i := range picked {
				id := d.ScheduleID(i)
				if pause {
					err = schedules.Pause(ctx, c, id, n)
				} else {
					err = schedules.Resume(ctx, c, id, n)
				}
				if err != nil {
					if len(ids) > 0 {
						return fmt.Errorf("%s %s, then: %w", strings.ToLower(past), strings.Join(ids, ", "), err)
					}
					return err
				}
				ids = append(ids, id)
			}
			if a.json() {
				return a.printJSON(map[string]any{"deployment": d.Name, "schedule_ids": ids, "paused": pause, "note": n})
			}
			for _, id := range ids {
				fmt.Fprintf(a.stdout, "%s %s (note: %q).\n", past, id, n)
			}
			if pause {
				fmt.Fprintf(a.stdout, "No new runs start until: blueprint deployment resume %s\n", d.Name)
			}
			for _, i := range picked {
				if p := d.Schedules[i].Paused; p != nil && *p != pause {
					fmt.Fprintf(a.stderr, "warning: the manifest sets \"paused: %t\" for %s, so the next blueprint deploy will %s it again\n", *p, d.ScheduleID(i), other)
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&note, "note", "", "why, shown with the schedule's state")
	cmd.Flags().StringVar(&slug, "schedule", "", scheduleFlag(verb)+" (default: all)")
	return cmd
}

// MaxBackfillRuns bounds one backfill: a typo in --from should not start
// years of runs.
const MaxBackfillRuns = 1000

func (a *app) backfillCommand() *cobra.Command {
	var fromS, toS, overlapS, slug string
	cmd := &cobra.Command{
		Use:   "backfill NAME --from TIME --to TIME",
		Short: "Start the runs a deployment's schedule would have started in a past period",
		Long: fmt.Sprintf(`Start now, through the deployment's Temporal Schedule, every run its schedule
would have started between --from and --to (RFC 3339 times, e.g.
2025-01-31T09:00:00Z or 2025-01-31T09:00:00-06:00). The runs carry the
deployment's parameters and show up in 'blueprint runs ls --deployment NAME'.

--overlap says what happens when the backfilled runs overlap each other or a run
in progress: buffer_all (the default) runs them one after the other, allow_all
runs them all at once, skip drops the overlapping ones. At most %d runs per
backfill; split longer periods.

A deployment with several schedules gets the runs of each (each with its
own parameters), or only those of the one --schedule SLUG names.`, MaxBackfillRuns),
		Example: `  blueprint deployment backfill production-etl --from 2025-01-01T00:00:00Z --to 2025-01-08T00:00:00Z
  blueprint deployment backfill production-etl --from 2025-01-01T00:00:00-06:00 --to 2025-01-02T00:00:00-06:00 --overlap allow_all`,
		Args: cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			d, err := scheduledDeployment(m, args[0])
			if err != nil {
				return err
			}
			from, err := parseTimeFlag("--from", fromS)
			if err != nil {
				return err
			}
			to, err := parseTimeFlag("--to", toS)
			if err != nil {
				return err
			}
			if !from.Before(to) {
				return usagef("--from %s must be before --to %s", fromS, toS)
			}
			overlap, err := deployments.ParseOverlap(overlapS)
			if err != nil {
				return usagef("--overlap: %w", err)
			}
			picked, err := pickSchedules(d, slug, true)
			if err != nil {
				return err
			}
			// Every schedule's runs are counted before the first backfill
			// is asked for: a period too long for one refuses them all.
			var times []time.Time
			var ids, whens []string
			for _, i := range picked {
				s := d.Schedules[i]
				t := backfillTimes(&s, from, to)
				times = append(times, t...)
				whens = append(whens, s.When()+", "+s.Timezone)
				if len(t) > 0 {
					ids = append(ids, d.ScheduleID(i))
				}
			}
			slices.SortFunc(times, time.Time.Compare)
			switch {
			case len(times) == 0:
				return usagef("no run of %s (%s) is due between %s and %s: nothing to backfill", d.Name, strings.Join(whens, "; "), fromS, toS)
			case len(times) > MaxBackfillRuns:
				return usagef("%s to %s holds more than %d runs of %s; split it into shorter periods", fromS, toS, MaxBackfillRuns, d.Name)
			}
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			for n, id := range ids {
				if err := schedules.Backfill(ctx, c, id, from, to, overlap); err != nil {
					if n > 0 {
						return fmt.Errorf("backfill requested for %s, then: %w", strings.Join(ids[:n], ", "), err)
					}
					return err
				}
			}
			if a.json() {
				return a.printJSON(map[string]any{"deployment": d.Name, "schedule_ids": ids, "from": from, "to": to, "overlap": overlapS, "runs": len(times), "scheduled_times": times})
			}
			fmt.Fprintf(a.stdout, "Backfill of %s requested: %s due between %s and %s (%s), overlap %s.\n",
				strings.Join(ids, ", "), plural(len(times), "run"), from.Format(time.RFC3339), to.Format(time.RFC3339), strings.Join(whens, "; "), overlapS)
			fmt.Fprintf(a.stdout, "Follow them with: blueprint runs ls --deployment %s\n", d.Name)
			return nil
		}),
	}
	cmd.Flags().StringVar(&fromS, "from", "", "start of the period, RFC 3339 (required)")
	cmd.Flags().StringVar(&toS, "to", "", "end of the period, RFC 3339 (required)")
	cmd.Flags().StringVar(&overlapS, "overlap", "buffer_all", "overlap policy of the backfilled runs: "+strings.Join(deployments.OverlapNames(), ", "))
	cmd.Flags().StringVar(&slug, "schedule", "", scheduleFlag("backfill")+" (default: all)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// backfillTimes lists the schedule's times in [from, to], up to one more
// than MaxBackfillRuns.
func backfillTimes(s *deployments.Schedule, from, to time.Time) []time.Time {
	var out []time.Time
	after := from.Add(-time.Nanosecond)
	for len(out) <= MaxBackfillRuns {
		next := s.Next(after, 1)
		if len(next) == 0 || next[0].After(to) {
			break
		}
		out = append(out, next[0])
		after = next[0]
	}
	return out
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, usagef("%s is required (an RFC 3339 time such as 2025-01-31T09:00:00Z)", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("%s %q: not an RFC 3339 time; write it like 2025-01-31T09:00:00Z or 2025-01-31T09:00:00-06:00", name, v)
	}
	return t, nil
}

func (a *app) triggerCommand() *cobra.Command {
	var overlapS, slug string
	cmd := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Make a deployment's schedule start a run now",
		Long: `Ask the deployment's Temporal Schedule to start a run now, as if it were due. The
run is like a scheduled one: the schedule's parameters, a workflow ID of the
deployment name plus the time, listed under the schedule's recent actions.
Use 'blueprint run' instead to start a run with other parameters.

--overlap says what to do if a run of the deployment is still going: allow_all
(the default) starts this one anyway, skip does not start it.

A deployment with several schedules triggers its first (the one whose ID is the
deployment name) unless --schedule SLUG names another: one run, with that
schedule's parameters.`,
		Example: `  blueprint deployment trigger production-etl
  blueprint deployment trigger production-etl --overlap skip`,
		Args: cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			d, err := scheduledDeployment(m, args[0])
			if err != nil {
				return err
			}
			overlap, err := deployments.ParseOverlap(overlapS)
			if err != nil {
				return usagef("--overlap: %w", err)
			}
			picked, err := pickSchedules(d, slug, false)
			if err != nil {
				return err
			}
			id := d.ScheduleID(picked[0])
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			run, err := schedules.Trigger(ctx, c, id, overlap)
			if err != nil {
				return err
			}
			ns := a.settings.Namespace
			if a.json() {
				out := map[string]any{"deployment": d.Name, "schedule_id": id, "workflow_id": run.WorkflowID, "run_id": run.RunID}
				if run.WorkflowID != "" {
					out["ui_url"] = starter.UILink(ns, run.WorkflowID, run.RunID)
				}
				return a.printJSON(out)
			}
			if run.WorkflowID == "" {
				fmt.Fprintf(a.stdout, "Triggered %s; the run will show in: blueprint runs ls --deployment %s\n", id, d.Name)
				return nil
			}
			fmt.Fprintf(a.stdout, "Triggered %s.\n", id)
			f := newFields(a.stdout, "  ")
			f.add("Workflow ID", "%s", run.WorkflowID)
			f.add("Run ID", "%s", run.RunID)
			f.add("Web UI", "%s", starter.UILink(ns, run.WorkflowID, run.RunID))
			return f.flush()
		}),
	}
	cmd.Flags().StringVar(&overlapS, "overlap", "allow_all", "what to do if a run is still going: "+strings.Join(deployments.OverlapNames(), ", "))
	cmd.Flags().StringVar(&slug, "schedule", "", scheduleFlag("trigger")+" (default: the first)")
	return cmd
}
