// Package schedules reconciles the deployments manifest with Temporal
// Schedules: `blueprint deploy` computes a Plan (what to create, update or
// delete) from the manifest and the server's state, shows it, and applies it.
//
// It fixes what Prefect users trip over when redeploying:
//
//   - A redeploy never duplicates a schedule: each schedule of a deployment
//     has a stable ID (deployments.Deployment.ScheduleID: the deployment
//     name for the first, NAME-SLUG for the others), and a schedule that
//     already matches the manifest is reported "unchanged" and left alone.
//   - A redeploy never resumes a paused schedule: unless the manifest says
//     `paused: true|false`, the server's paused state and note are kept.
//   - A deploy is not applied half-way because of a bad manifest: the whole
//     manifest is validated and the whole plan computed before the first
//     change.
//   - --prune deletes only schedules blueprint created (marked with a memo),
//     never one made by hand or by another tool.
//
// It must not import `internal/store`, `activities` or `workflows`.
package schedules

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/starter"
)

// Action is what a deploy does to one schedule.
type Action string

// Actions, in the words `blueprint deploy` prints (create -> "created").
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Delete    Action = "delete"
)

// Past is the action in the past tense, for reporting what was done.
func (a Action) Past() string {
	switch a {
	case Create:
		return "created"
	case Update:
		return "updated"
	case Delete:
		return "deleted"
	default:
		return string(a)
	}
}

// Change is the plan for one schedule.
type Change struct {
	Deployment string `json:"deployment"`
	ScheduleID string `json:"schedule_id"`
	// Slug names the schedule within its deployment; empty for a deletion.
	Slug   string `json:"slug,omitempty"`
	Action Action `json:"action"`
	// Diff says what changes, one human-readable line per field, such as
	// "cron: 0 8 * * * -> 0 9 * * *". A create lists the new schedule's
	// settings; unchanged has none.
	Diff []string `json:"diff"`
}

// Plan is what a deploy would do, in manifest order, deletions last.
type Plan struct {
	Changes []Change `json:"changes"`
	// Orphans are schedules blueprint created that the manifest no longer
	// has: their deployment is gone, or the schedule left its list. A plan
	// made with prune deletes them; without prune they are listed here and
	// left alone.
	Orphans []string `json:"orphans,omitempty"`
}

// Pending counts the changes that would change the server.
func (p Plan) Pending() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action != Unchanged {
			n++
		}
	}
	return n
}

// Memo keys. The schedule memo marks the schedules blueprint manages (the
// server keeps a schedule's memo across updates). The spec hash lives in
// the memo of the schedule's action, which every update replaces, so it
// always describes the spec last applied; runs started by the schedule
// carry it too, which tells which version of a deployment started a run.
const (
	MemoManagedBy  = "blueprint.managed-by"
	ManagedByValue = "blueprint"
	MemoDeployment = "blueprint.deployment"
	MemoSpecHash   = "blueprint.spec-hash"
)

// Notes set on the schedule when the manifest forces a paused state
// without a note of its own.
const (
	DeployPauseNote  = "paused by blueprint deploy (manifest: paused: true)"
	DeployResumeNote = "resumed by blueprint deploy (manifest: paused: false)"
)

// ServerCatchupWindow is what the server applies to a schedule created
// without a catch-up window (the manifest's own default, applied when a
// deployment names none, is deployments.DefaultCatchupWindow).
const ServerCatchupWindow = 365 * 24 * time.Hour

// desired is one schedule a deployment asks for.
type desired struct {
	// dep is the deployment as the schedule runs it: the schedule's
	// parameters merged over the deployment's.
	dep     deployments.Deployment
	sched   deployments.Schedule
	id      string // the Temporal Schedule ID
	slug    string
	cal     calendar       // a cron schedule's times
	params  map[string]any // the complete parameter document
	input   map[string]any // params as JSON decodes them, for comparing with the server's
	hash    string
	overlap enumspb.ScheduleOverlapPolicy
}

// desire builds and checks the i-th schedule of a deployment.
func desire(d deployments.Deployment, i int) (desired, error) {
	s := d.Schedules[i]
	id, slug := d.ScheduleID(i), d.Slugs()[i]
	d = d.ForSchedule(i)
	// A loaded manifest fills these in; a hand-built Deployment may not.
	f, err := d.Flow()
	if err != nil {
		return desired{}, err
	}
	d.Workflow = f.Name
	if d.TaskQueue == "" {
		d.TaskQueue = f.TaskQueue
	}
	where := fmt.Sprintf("deployment %q", d.Name)
	if d.Line > 0 {
		where += fmt.Sprintf(" (line %d)", d.Line)
	}
	if i > 0 {
		where += fmt.Sprintf(", schedule %q", slug)
		if s.Line > 0 {
			where += fmt.Sprintf(" (line %d)", s.Line)
		}
	}
	params, err := d.Params()
	if err != nil {
		if i > 0 {
			return desired{}, badinput.Errorf("schedule %q: %w", slug, err)
		}
		return desired{}, err
	}
	var cal calendar
	switch {
	case s.Interval > 0:
		if s.Interval < deployments.MinInterval || s.Offset < 0 || s.Offset >= s.Interval {
			return desired{}, badinput.Errorf("%s: schedule: interval %s offset %s: the interval must be at least %s and the offset at least 0s and less than the interval", where, s.Interval, s.Offset, deployments.MinInterval)
		}
	default:
		if cal, err = parseCron(s.Cron); err != nil {
			return desired{}, badinput.Errorf("%s: schedule: %w", where, err)
		}
	}
	if s.Timezone != "" && s.Timezone != "UTC" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return desired{}, badinput.Errorf("%s: schedule: unknown time zone %q", where, s.Timezone)
		}
	}
	overlap := enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	if s.Overlap != "" {
		if overlap, err = deployments.ParseOverlap(s.Overlap); err != nil {
			return desired{}, badinput.Errorf("%s: schedule: %w", where, err)
		}
	}
	// The hash reads the parameters as JSON with sorted keys, which for
	// DataPipeline is what its struct always encoded: deployed schedules
	// stay unchanged. input is the same document as the server's JSON
	// decodes it (numbers are float64), for the comparison.
	b, err := json.Marshal(params)
	if err != nil {
		return desired{}, fmt.Errorf("%s: encode parameters: %w", where, err)
	}
	var input map[string]any
	if err := json.Unmarshal(b, &input); err != nil {
		return desired{}, fmt.Errorf("%s: decode parameters: %w", where, err)
	}
	w := desired{dep: d, sched: s, id: id, slug: slug, cal: cal, params: params, input: input, overlap: overlap}
	w.hash = w.specHash(b)
	return w, nil
}

// desireAll builds every schedule of every deployment, so that a bad
// schedule stops a deploy before anything changes.
func desireAll(m *deployments.Manifest) ([]desired, error) {
	if m == nil {
		return nil, badinput.Errorf("no manifest")
	}
	var out []desired
	var problems []string
	ids := map[string]string{}
	for _, d := range m.Deployments {
		for i := range d.Schedules {
			w, err := desire(d, i)
			if err != nil {
				if !badinput.Is(err) {
					return nil, err
				}
				problems = append(problems, err.Error())
				continue
			}
			// The loader refuses this; a hand-built manifest may not.
			if other, dup := ids[w.id]; dup {
				problems = append(problems, fmt.Sprintf("deployments %q and %q both have a schedule with ID %q", other, d.Name, w.id))
				continue
			}
			ids[w.id] = d.Name
			out = append(out, w)
		}
	}
	if len(problems) > 0 {
		return nil, badinput.Errorf("%s: %s", m.Path, strings.Join(problems, "; "))
	}
	return out, nil
}

// Validate checks, without the server, that every schedule of the
// manifest can be deployed: what PlanDeploy and Apply check first. Errors
// are *badinput.Error.
func Validate(m *deployments.Manifest) error {
	_, err := desireAll(m)
	return err
}

// specHash fingerprints everything the manifest says about the schedule
// except its paused state, which deploy only sets when asked. The interval
// fields are left out when zero, so a cron schedule hashes as it did before
// intervals existed and stays unchanged.
func (w desired) specHash(params []byte) string {
	s := w.sched
	b, _ := json.Marshal(struct {
		Workflow, TaskQueue, WorkflowID string
		Params                          json.RawMessage
		Cron, Timezone                  string
		Jitter, CatchupWindow           time.Duration
		Overlap                         string
		Interval                        time.Duration `json:",omitempty"`
		Offset                          time.Duration `json:",omitempty"`
	}{w.dep.Workflow, w.dep.TaskQueue, w.id, params, s.Cron, w.timezone(), s.Jitter, w.catchup(), w.overlap.String(), s.Interval, s.Offset})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (w desired) timezone() string { return zoneName(w.sched.Timezone) }

func (w desired) catchup() time.Duration {
	if w.sched.CatchupWindow == 0 {
		return ServerCatchupWindow
	}
	return w.sched.CatchupWindow
}

// zoneName is "" (the server's default) spelled out.
func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func (w desired) spec() client.ScheduleSpec {
	s := w.sched
	spec := client.ScheduleSpec{TimeZoneName: w.timezone(), Jitter: s.Jitter}
	if s.Interval > 0 {
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: s.Interval, Offset: s.Offset}}
	} else {
		spec.CronExpressions = []string{s.Cron}
	}
	return spec
}

func (w desired) action() *client.ScheduleWorkflowAction {
	desc := starter.Describe(w.dep, w.params)
	memo := starter.Memo(w.dep)
	memo[MemoSpecHash] = w.hash
	return &client.ScheduleWorkflowAction{
		// The server appends the scheduled time: production-etl-2025-01-02T09:00:00Z.
		ID:                    w.id,
		Workflow:              w.dep.Workflow,
		TaskQueue:             w.dep.TaskQueue,
		Args:                  []any{w.params},
		TypedSearchAttributes: temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(w.dep.Name)),
		Memo:                  memo,
		StaticSummary:         desc.Summary,
		StaticDetails:         desc.Details,
	}
}

func (w desired) policies() *client.SchedulePolicies {
	return &client.SchedulePolicies{Overlap: w.overlap, CatchupWindow: w.catchup()}
}

// pauseNote is the note that goes with a paused state the manifest forces.
func (w desired) pauseNote() string {
	s := w.sched
	switch {
	case s.Note != "":
		return s.Note
	case s.Paused != nil && *s.Paused:
		return DeployPauseNote
	default:
		return DeployResumeNote
	}
}

// summary lists a new schedule's settings for the plan.
func (w desired) summary() []string {
	s := w.sched
	lines := []string{
		w.when(),
		"timezone: " + w.timezone(),
		fmt.Sprintf("workflow: %s on task queue %s", w.dep.Workflow, w.dep.TaskQueue),
		"parameters: " + deployments.FormatParams(w.input),
		"overlap: " + deployments.OverlapName(w.overlap),
		"catchup_window: " + w.catchup().String(),
	}
	if s.Jitter != 0 {
		lines = append(lines, "jitter: "+s.Jitter.String())
	}
	if len(w.dep.Notify) > 0 {
		lines = append(lines, "notify: "+formatWebhooks(w.dep.Notify))
	}
	if t := starter.Triggers(w.dep); len(t) > 0 {
		lines = append(lines, "triggers: "+formatTriggers(t))
	}
	if c := w.dep.Concurrency(); c != nil {
		lines = append(lines, "concurrency: "+deployments.FormatConcurrency(c))
	}
	if s.Paused != nil && *s.Paused {
		lines = append(lines, "paused: true")
	}
	if s.Note != "" {
		lines = append(lines, fmt.Sprintf("note: %q", s.Note))
	}
	return lines
}

// when is the plan's line for when the schedule fires.
func (w desired) when() string {
	if w.sched.Interval > 0 {
		return "interval: " + w.sched.When()
	}
	return "cron: " + w.sched.Cron
}

// PlanDeploy compares the manifest with the server and says what a deploy
// would do. It reads the server's state and changes nothing. With prune,
// schedules blueprint created whose deployment is gone are deleted.
//
// Errors from the manifest are *badinput.Error. A schedule that has a
// deployment's name but was not created by blueprint is an error too:
// deploy never takes over what it did not create.
func PlanDeploy(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, prune bool) (Plan, error) {
	return plan(ctx, c, namespace, m, prune, false)
}

// NotManaged is the difference Compare reports for a schedule that has the
// ID of one of the manifest's but was not created by blueprint.
const NotManaged = "a schedule with this ID exists but was not created by blueprint; deploy will not change it (rename the deployment or the slug, or delete the schedule)"

// Compare says how each schedule of the manifest differs from the server's,
// for listings and status: PlanDeploy without prune, except that a
// schedule blueprint did not create is a change whose diff is NotManaged
// rather than an error, and orphans are not looked for.
func Compare(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest) (Plan, error) {
	return plan(ctx, c, namespace, m, false, true)
}

// Survey is Compare plus each schedule's Status, from one description of
// each schedule: listings and status show both, and describing a schedule
// twice per command doubles what hundreds of deployments cost. The statuses
// are keyed by schedule ID.
func Survey(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest) (map[string]Status, Plan, error) {
	wants, err := desireAll(m)
	if err != nil {
		return nil, Plan{}, err
	}
	descs, err := describeAll(ctx, c.ScheduleClient(), namespace, ids(wants))
	if err != nil {
		return nil, Plan{}, err
	}
	states := make(map[string]Status, len(wants))
	for i, w := range wants {
		states[w.id] = statusOf(w.id, descs[i])
	}
	p, err := planFrom(ctx, c, namespace, m, wants, descs, nil, false, true)
	return states, p, err
}

// DescribeConcurrency bounds the schedule descriptions one command has in
// flight: they are independent, and hundreds of them one after the other
// cost hundreds of round trips, but a server must not get them all at once.
const DescribeConcurrency = 16

// hedgeAfter is how long one schedule's description may take before the
// same description is asked for once more, the first answer winning.
// Describing a schedule queries its scheduler workflow on the server, and
// about one query in a few hundred waits out the server's 5 s sticky
// schedule-to-start timeout before it is answered (measured on the dev
// server: 300 descriptions take about 1 s, or 5.4 s with one such stall;
// with the hedge, 0.7-0.8 s in every round). An answer normally takes a few
// ms, so a hedge costs one extra call per stall, and a command waits no
// more than hedgeAfter for a stalled one. Tests replace it (export_test.go).
var hedgeAfter = 500 * time.Millisecond

func ids(wants []desired) []string {
	out := make([]string, len(wants))
	for i, w := range wants {
		out[i] = w.id
	}
	return out
}

// describeAll describes each schedule of ids once, at most
// DescribeConcurrency at a time, in the order of ids; a schedule the
// server does not have gives nil.
func describeAll(ctx context.Context, sc client.ScheduleClient, namespace string, ids []string) ([]*client.ScheduleDescription, error) {
	descs := make([]*client.ScheduleDescription, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(DescribeConcurrency)
	for i, id := range ids {
		g.Go(func() error {
			desc, err := describeHedged(gctx, sc, id)
			var notFound *serviceerror.NotFound
			switch {
			case errors.As(err, &notFound):
				return nil
			case err != nil:
				return serverError(fmt.Sprintf("describe schedule %q in namespace %q", id, namespace), err)
			}
			descs[i] = desc
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return descs, nil
}

// describeHedged describes schedule id, asking once more when the first
// answer has not come within hedgeAfter (see there): the first
// description wins; an error only when both asks failed (the first's).
// The ask that loses is cancelled.
func describeHedged(ctx context.Context, sc client.ScheduleClient, id string) (*client.ScheduleDescription, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		desc *client.ScheduleDescription
		err  error
	}
	answers := make(chan answer, 2) // buffered: the loser's send never blocks
	ask := func() {
		desc, err := sc.GetHandle(ctx, id).Describe(ctx)
		answers <- answer{desc, err}
	}
	go ask()
	asked := 1
	hedge := time.NewTimer(hedgeAfter)
	defer hedge.Stop()
	var first error
	for got := 0; got < asked; {
		select {
		case a := <-answers:
			got++
			if a.err == nil {
				return a.desc, nil
			}
			if first == nil {
				first = a.err
			}
			var notFound *serviceerror.NotFound
			if errors.As(a.err, &notFound) {
				return nil, a.err // a definite answer: nothing to wait for
			}
		case <-hedge.C: // fires once, and only while the first ask is unanswered
			go ask()
			asked++
		}
	}
	return nil, first
}

func plan(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, prune, lenient bool) (Plan, error) {
	wants, err := desireAll(m)
	if err != nil {
		return Plan{}, err
	}
	if lenient {
		descs, err := describeAll(ctx, c.ScheduleClient(), namespace, ids(wants))
		if err != nil {
			return Plan{}, err
		}
		return planFrom(ctx, c, namespace, m, wants, descs, nil, prune, lenient)
	}
	// The list of the schedules blueprint manages (for the orphans) does not
	// depend on the descriptions: it is asked for while they are. A failed
	// description is the error reported, as when they ran one after the
	// other, and it stops the list.
	listCtx, stopList := context.WithCancel(ctx)
	defer stopList()
	type listing struct {
		ids []string
		err error
	}
	listed := make(chan listing, 1)
	go func() {
		ids, err := listManaged(listCtx, c)
		listed <- listing{ids, err}
	}()
	descs, err := describeAll(ctx, c.ScheduleClient(), namespace, ids(wants))
	if err != nil {
		stopList()
		<-listed
		return Plan{}, err
	}
	l := <-listed
	if l.err != nil {
		return Plan{}, serverError(fmt.Sprintf("list schedules in namespace %q", namespace), l.err)
	}
	return planFrom(ctx, c, namespace, m, wants, descs, l.ids, prune, lenient)
}

// planFrom is plan with the wanted schedules described: descs[i] is the
// server's wants[i], nil when it has none; listed are the IDs of the
// schedules blueprint manages (listManaged), read unless lenient.
func planFrom(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, wants []desired, descs []*client.ScheduleDescription, listed []string, prune, lenient bool) (Plan, error) {
	plan := Plan{Changes: []Change{}}
	wanted := map[string]bool{}
	for i, w := range wants {
		id := w.id
		wanted[id] = true
		desc := descs[i]
		switch {
		case desc == nil:
			plan.Changes = append(plan.Changes, Change{Deployment: w.dep.Name, ScheduleID: id, Slug: w.slug, Action: Create, Diff: w.summary()})
			continue
		case !managed(desc.Memo) && lenient:
			plan.Changes = append(plan.Changes, Change{Deployment: w.dep.Name, ScheduleID: id, Slug: w.slug, Action: Update, Diff: []string{NotManaged}})
			continue
		case !managed(desc.Memo):
			return Plan{}, fmt.Errorf("schedule %q in namespace %q was not created by blueprint (it has no %s memo), so deploy will not change it: rename the deployment (or the schedule's slug), or delete the schedule (temporal schedule delete --schedule-id %s) and deploy again",
				id, namespace, MemoManagedBy, id)
		}
		ch := Change{Deployment: w.dep.Name, ScheduleID: id, Slug: w.slug, Action: Unchanged, Diff: compare(desc, w)}
		if len(ch.Diff) > 0 {
			ch.Action = Update
		}
		plan.Changes = append(plan.Changes, ch)
	}
	if lenient {
		return plan, nil
	}

	var gone []string
	for _, id := range listed {
		if wanted[id] {
			continue
		}
		if !prune {
			plan.Orphans = append(plan.Orphans, id)
			continue
		}
		gone = append(gone, id)
	}
	// The list is eventually consistent: make sure each schedule is still
	// there and still ours before planning to delete it.
	goneDescs, err := describeAll(ctx, c.ScheduleClient(), namespace, gone)
	if err != nil {
		return Plan{}, err
	}
	for i, id := range gone {
		desc := goneDescs[i]
		if desc == nil || !managed(desc.Memo) {
			continue
		}
		dep := cmp.Or(memoString(desc.Memo, MemoDeployment), id)
		reason := fmt.Sprintf("deployment %s is not in the manifest", dep)
		if d, err := m.Get(dep); err == nil {
			reason = fmt.Sprintf("deployment %s has no schedule in the manifest", dep)
			if len(d.Schedules) > 0 {
				reason = fmt.Sprintf("no longer among the schedules of deployment %s in the manifest", dep)
			}
		}
		plan.Changes = append(plan.Changes, Change{Deployment: dep, ScheduleID: id, Action: Delete, Diff: []string{reason}})
	}
	return plan, nil
}

// Apply carries out a plan made by PlanDeploy from the same manifest. The
// manifest is checked again, whole, before the first change. On an error
// it returns the changes applied before it (unchanged ones included) and
// the error naming the schedule it stopped at.
func Apply(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, p Plan) ([]Change, error) {
	wants, err := desireAll(m)
	if err != nil {
		return nil, err
	}
	byID := map[string]desired{}
	for _, w := range wants {
		byID[w.id] = w
	}
	writes := false
	for _, ch := range p.Changes {
		switch ch.Action {
		case Create, Update:
			if _, ok := byID[ch.ScheduleID]; !ok {
				return nil, fmt.Errorf("the plan does not match the manifest: %s has no schedule %s in %s; plan again", ch.Deployment, ch.ScheduleID, m.Path)
			}
			writes = true
		case Delete, Unchanged:
		default:
			return nil, fmt.Errorf("the plan has an unknown action %q for %s", ch.Action, ch.ScheduleID)
		}
	}
	var saErr error
	if writes {
		// Every run a schedule starts carries the deployment search
		// attribute, which the server refuses unless it is registered.
		// Registering needs operator rights (not granted on Temporal Cloud,
		// where the attribute is added with tcld): if it fails, go on, and
		// say so should the server then refuse a schedule.
		saErr = starter.EnsureSearchAttributes(ctx, c, namespace)
	}

	sc := c.ScheduleClient()
	applied := make([]Change, 0, len(p.Changes))
	for _, ch := range p.Changes {
		var err error
		switch ch.Action {
		case Create:
			err = create(ctx, sc, byID[ch.ScheduleID])
		case Update:
			err = update(ctx, sc, byID[ch.ScheduleID])
		case Delete:
			err = sc.GetHandle(ctx, ch.ScheduleID).Delete(ctx)
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				err = nil // already gone: the goal is reached
			}
		}
		if err != nil {
			err = serverError(fmt.Sprintf("%s schedule %q in namespace %q", ch.Action, ch.ScheduleID, namespace), err)
			if saErr != nil {
				err = fmt.Errorf("%w (and earlier: %v)", err, saErr)
			}
			return applied, err
		}
		applied = append(applied, ch)
	}
	return applied, nil
}

func create(ctx context.Context, sc client.ScheduleClient, w desired) error {
	s := w.sched
	paused := s.Paused != nil && *s.Paused
	note := s.Note
	if paused && note == "" {
		note = DeployPauseNote
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:            w.id,
		Spec:          w.spec(),
		Action:        w.action(),
		Overlap:       w.overlap,
		CatchupWindow: w.catchup(),
		Paused:        paused,
		Note:          note,
		Memo:          map[string]any{MemoManagedBy: ManagedByValue, MemoDeployment: w.dep.Name},
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("it was created by someone else since the plan was made; run deploy again: %w", err)
	}
	return err
}

func update(ctx context.Context, sc client.ScheduleClient, w desired) error {
	return sc.GetHandle(ctx, w.id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			if !managed(in.Description.Memo) {
				return nil, fmt.Errorf("it is no longer marked as created by blueprint")
			}
			// Spec, action and policies come from the manifest; the state
			// (paused, note, remaining actions) stays the server's unless
			// the manifest sets paused.
			state := client.ScheduleState{}
			if in.Description.Schedule.State != nil {
				state = *in.Description.Schedule.State
			}
			if p := w.sched.Paused; p != nil {
				if state.Paused != *p || w.sched.Note != "" {
					state.Note = w.pauseNote()
				}
				state.Paused = *p
			}
			spec := w.spec()
			return &client.ScheduleUpdate{Schedule: &client.Schedule{
				Action: w.action(),
				Spec:   &spec,
				Policy: w.policies(),
				State:  &state,
			}}, nil
		},
	})
}

// managed reports whether a schedule memo marks a schedule blueprint made.
func managed(memo *commonpb.Memo) bool {
	return memoString(memo, MemoManagedBy) == ManagedByValue
}

// memoString reads a string field of a memo; "" when absent or not a string.
func memoString(memo *commonpb.Memo, key string) string {
	var v string
	p := memo.GetFields()[key]
	if p == nil || conn.PayloadConverter().FromPayload(p, &v) != nil {
		return ""
	}
	return v
}

// listManaged returns the IDs of the schedules blueprint created, sorted.
func listManaged(ctx context.Context, c client.Client) ([]string, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return nil, err
	}
	var ids []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		if managed(e.Memo) {
			ids = append(ids, e.ID)
		}
	}
	sort.Strings(ids)
	return slices.Compact(ids), nil
}

// compare lists how the server's schedule differs from the wanted one.
func compare(desc *client.ScheduleDescription, w desired) []string {
	diff := []string{}
	add := func(name string, from, to any) {
		diff = append(diff, fmt.Sprintf("%s: %v -> %v", name, from, to))
	}
	s := w.sched

	spec := desc.Schedule.Spec
	switch {
	case s.Interval > 0:
		if !intervalMatches(spec, s.Interval, s.Offset) {
			add("interval", orNone(describeSpec(spec)), s.When())
		}
	case !specMatches(spec, w.cal):
		add("cron", orNone(describeSpec(spec)), s.Cron)
	}
	if spec != nil {
		if got := zoneName(spec.TimeZoneName); got != w.timezone() {
			add("timezone", got, w.timezone())
		}
		if spec.Jitter != s.Jitter {
			add("jitter", spec.Jitter, s.Jitter)
		}
	}

	pol := desc.Schedule.Policy
	if pol == nil {
		pol = &client.SchedulePolicies{}
	}
	// An unset policy is the server's default, skip: OverlapName reads it so.
	if got, want := deployments.OverlapName(pol.Overlap), deployments.OverlapName(w.overlap); got != want {
		add("overlap", got, want)
	}
	if got := pol.CatchupWindow; got != w.catchup() {
		add("catchup_window", got, w.catchup())
	}
	if pol.PauseOnFailure {
		add("pause_on_failure", true, false)
	}

	a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		add("action", "not a workflow start", "start "+w.dep.Workflow)
	} else {
		diff = append(diff, compareAction(a, w)...)
	}

	if st := desc.Schedule.State; st != nil && s.Paused != nil {
		if st.Paused != *s.Paused {
			add("paused", st.Paused, *s.Paused)
		}
		if s.Note != "" && st.Note != s.Note {
			add("note", fmt.Sprintf("%q", st.Note), fmt.Sprintf("%q", s.Note))
		}
	}

	if len(diff) == 0 {
		// Everything checked matches, but the schedule was last applied
		// from a different spec (or by another version of blueprint):
		// apply it once more so the recorded hash is current.
		if got := actionHash(desc); got != w.hash {
			add(MemoSpecHash, orNone(got), w.hash)
		}
	}
	return diff
}

func compareAction(a *client.ScheduleWorkflowAction, w desired) []string {
	var diff []string
	add := func(name string, from, to any) {
		diff = append(diff, fmt.Sprintf("%s: %v -> %v", name, from, to))
	}
	if got := workflowName(a.Workflow); got != w.dep.Workflow {
		add("workflow", got, w.dep.Workflow)
	}
	if a.TaskQueue != w.dep.TaskQueue {
		add("task_queue", a.TaskQueue, w.dep.TaskQueue)
	}
	if a.ID != w.id {
		add("workflow_id", a.ID, w.id)
	}
	if got, ok := actionInput(a); !ok {
		add("parameters", fmt.Sprintf("(%d undecodable arguments)", len(a.Args)), deployments.FormatParams(w.input))
	} else {
		diff = append(diff, diffParams(got, w.input)...)
	}
	if got, want := actionWebhooks(a), formatWebhooks(w.dep.Notify); got != want {
		add("notify", got, want)
	}
	if d := diffTriggers(a, starter.Triggers(w.dep)); d != "" {
		diff = append(diff, d)
	}
	if d := diffConcurrency(a, w.dep.Concurrency()); d != "" {
		diff = append(diff, d)
	}
	if got, _ := a.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey); got != w.dep.Name {
		add("search_attribute "+runinfo.DeploymentSearchAttribute, orNone(got), w.dep.Name)
	}
	if a.WorkflowExecutionTimeout != 0 {
		add("workflow_execution_timeout", a.WorkflowExecutionTimeout, "none")
	}
	if a.WorkflowRunTimeout != 0 {
		add("workflow_run_timeout", a.WorkflowRunTimeout, "none")
	}
	if a.RetryPolicy != nil {
		add("workflow_retry_policy", "set", "none")
	}
	if len(diff) == 0 {
		// The runs' summary and details are built from the deployment and
		// the parameters (starter.Describe). A change of the parameters or
		// the flow is listed above and rewrites them; otherwise say why
		// they change: a new description or tags, or a schedule made by an
		// older blueprint.
		desc := starter.Describe(w.dep, w.params)
		if a.StaticSummary != desc.Summary {
			add("summary", fmt.Sprintf("%q", a.StaticSummary), fmt.Sprintf("%q", desc.Summary))
		}
		switch {
		case a.StaticDetails == desc.Details:
		case a.StaticDetails == "":
			diff = append(diff, "details: (none) -> the deployment, its description and parameters")
		default:
			diff = append(diff, "details: changed (the deployment's description or tags)")
		}
	}
	return diff
}

// actionInput decodes a described action's single argument as JSON.
func actionInput(a *client.ScheduleWorkflowAction) (map[string]any, bool) {
	if len(a.Args) != 1 {
		return nil, false
	}
	p, ok := a.Args[0].(*commonpb.Payload)
	if !ok {
		return nil, false
	}
	var m map[string]any
	if err := conn.PayloadConverter().FromPayload(p, &m); err != nil {
		return nil, false
	}
	return m, true
}

// actionWebhooks reads the webhooks from a described action's memo, as
// formatWebhooks writes them.
func actionWebhooks(a *client.ScheduleWorkflowAction) string {
	p, ok := a.Memo[runinfo.MemoNotify].(*commonpb.Payload)
	if !ok {
		return formatWebhooks(nil)
	}
	var hooks []runinfo.Webhook
	if err := conn.PayloadConverter().FromPayload(p, &hooks); err != nil {
		return "(undecodable)"
	}
	return formatWebhooks(hooks)
}

// diffTriggers compares the runs a described action's memo would start
// after each of its runs (runinfo.MemoTriggers) with want, what the
// manifest says now: "" when they are the same, else the diff line. The
// memo holds whole start requests (the downstream deployments' parameters,
// webhooks and own triggers), so any change of those updates the
// schedule; the line names what changed when the list itself did.
func diffTriggers(a *client.ScheduleWorkflowAction, want []runinfo.Trigger) string {
	var got []runinfo.Trigger
	var gotJSON json.RawMessage
	if p, ok := a.Memo[runinfo.MemoTriggers].(*commonpb.Payload); ok {
		if err := conn.PayloadConverter().FromPayload(p, &gotJSON); err != nil {
			return "triggers: (undecodable) -> " + formatTriggers(want)
		}
		if err := json.Unmarshal(gotJSON, &got); err != nil {
			return "triggers: (undecodable) -> " + formatTriggers(want)
		}
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return "triggers: (unencodable) -> " + formatTriggers(want)
	}
	if (len(got) == 0 && len(want) == 0) || canonicalJSON(gotJSON) == canonicalJSON(wantJSON) {
		return ""
	}
	if g, w := formatTriggers(got), formatTriggers(want); g != w {
		return fmt.Sprintf("triggers: %s -> %s", g, w)
	}
	return "triggers: changed (the parameters, webhooks, own triggers or concurrency limit of a deployment started after this one)"
}

// diffConcurrency compares the concurrency limit a described action's
// memo gives its runs (runinfo.MemoConcurrency) with want, the
// manifest's: "" when they are the same, else the diff line
// "concurrency: 1 (enqueue) -> 2 (enqueue)". The whole value is compared,
// so a changed task queue updates the schedule too.
func diffConcurrency(a *client.ScheduleWorkflowAction, want *runinfo.Concurrency) string {
	var got *runinfo.Concurrency
	if p, ok := a.Memo[runinfo.MemoConcurrency].(*commonpb.Payload); ok {
		if err := conn.PayloadConverter().FromPayload(p, &got); err != nil {
			return "concurrency: (undecodable) -> " + deployments.FormatConcurrency(want)
		}
	}
	switch {
	case got == nil && want == nil:
		return ""
	case got != nil && want != nil && *got == *want:
		return ""
	}
	from, to := deployments.FormatConcurrency(got), deployments.FormatConcurrency(want)
	if from == to {
		to += ", task queue " + want.TaskQueue
		from += ", task queue " + got.TaskQueue
	}
	return "concurrency: " + from + " -> " + to
}

// canonicalJSON re-encodes a JSON document with sorted keys and numbers
// as written, so that two encodings of one value compare equal.
func canonicalJSON(b []byte) string {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(b)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(b)
	}
	return string(out)
}

// formatTriggers renders the runs a run may start for a plan line:
// "daily-report (on completed, 10m later), audit (on failed)", or
// "(none)".
func formatTriggers(ts []runinfo.Trigger) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Deployment + " (on " + strings.Join(t.On, ", ")
		if t.Delay > 0 {
			parts[i] += ", " + t.Delay.String() + " later"
		}
		parts[i] += ")"
	}
	return orNone(strings.Join(parts, ", "))
}

// formatWebhooks renders webhooks for a diff line: "$OPS_HOOK (failed,
// cancelled), $TEAM_HOOK (completed)", or "(none)".
func formatWebhooks(hooks []runinfo.Webhook) string {
	parts := make([]string, len(hooks))
	for i, h := range hooks {
		parts[i] = h.String()
	}
	return orNone(strings.Join(parts, ", "))
}

// actionHash reads the spec hash from a described action's memo.
func actionHash(desc *client.ScheduleDescription) string {
	a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return ""
	}
	p, ok := a.Memo[MemoSpecHash].(*commonpb.Payload)
	if !ok {
		return ""
	}
	var h string
	if conn.PayloadConverter().FromPayload(p, &h) != nil {
		return ""
	}
	return h
}

func diffParams(got, want map[string]any) []string {
	keys := slices.Sorted(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diff []string
	for _, k := range keys {
		g, inGot := got[k]
		v, inWant := want[k]
		if inGot && inWant && reflect.DeepEqual(g, v) {
			continue
		}
		diff = append(diff, fmt.Sprintf("parameters.%s: %s -> %s", k, formatValue(g, inGot), formatValue(v, inWant)))
	}
	return diff
}

// formatValue renders a parameter value for a diff line.
func formatValue(v any, present bool) string {
	if !present {
		return "(none)"
	}
	return deployments.FormatValue(v)
}

func workflowName(w any) string {
	if s, ok := w.(string); ok {
		return s
	}
	return fmt.Sprint(w)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
