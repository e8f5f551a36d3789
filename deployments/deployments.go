// Package deployments loads the deployments manifest, the blueprint
// equivalent of Prefect's prefect.yaml: named, tagged sets of workflow
// parameters, each with any number of schedules. `blueprint run NAME`
// starts a deployment by hand and `blueprint deploy` turns every schedule
// into a Temporal Schedule: the first has the deployment name as its ID,
// the others NAME-SLUG (see Deployment.ScheduleID).
//
// Loading is strict: an unknown key, a parameter the workflow does not take,
// a value of the wrong type or an invalid cron expression is reported with
// its file and line before anything reaches the server, because a typo in a
// schedule would otherwise surface as a silently missing nightly run.
//
// It must not import `internal/store`, `internal/source`, `activities`,
// `workflows` or `flows`: reading a manifest needs no database and nothing a
// worker runs; the caller gives it the flow registry.
package deployments

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

//go:embed deployments.yaml
var defaultManifest []byte

// DefaultPath is the Path of the embedded manifest, as shown in messages.
const DefaultPath = "deployments/deployments.yaml (embedded)"

// Manifest is a loaded, validated deployments file.
type Manifest struct {
	// Path is the file the manifest came from, as given (for messages).
	Path        string
	Deployments []Deployment
	// Sources are the named HTTP sources of the `sources:` section.
	Sources Sources
	// Datasets are the record types of the `datasets:` section (never
	// nil in a loaded manifest); the built-in ones are not in it.
	Datasets Datasets
	// Flows are the flows the deployments may start: the registry the
	// manifest was loaded with.
	Flows *flow.Registry
}

// Deployment is one named way of running a workflow.
type Deployment struct {
	Name        string
	Description string
	Tags        []string
	// Workflow is the flow to start, a name in Flows; default
	// DefaultWorkflow.
	Workflow string
	// TaskQueue defaults to the flow's task queue.
	TaskQueue string
	// Parameters holds the manifest's parameter values in the flow's
	// canonical form (see internal/flow): int64 for an integer, string for
	// a string, a duration or a date, []string for a list,
	// map[string]any for an object. Parameters left out are absent (their
	// defaults apply in Params). Never nil in a loaded manifest.
	Parameters map[string]any
	// Schedules are the deployment's schedules in manifest order: one for
	// `schedule:`, the list of `schedules:`, none for a deployment that
	// only runs by hand.
	Schedules []Schedule
	// Notify are the webhooks told when a run ends (the notify: key). Each
	// names the worker's environment variable that holds its URL; every
	// start puts them in the run's memo (runinfo.MemoNotify).
	Notify []runinfo.Webhook
	// Line is where the deployment starts in the manifest (0 if not loaded
	// from a file).
	Line int
	// Sources are the manifest's named sources, which source_url:
	// source:NAME (in the manifest or a --param) refers to.
	Sources Sources
	// Datasets are the manifest's datasets, which a parameter with the
	// dataset rule (in the manifest or a --param) names.
	Datasets Datasets
	// Flows are the flows Workflow is looked up in: the manifest's. A
	// Deployment made by hand must set it.
	Flows *flow.Registry
	// Triggers are the entries of its triggers: (start a run after a run
	// of another deployment ends), in manifest order.
	Triggers []TriggerSpec
	// ConcurrencyLimit is how many of its runs may run at once
	// (concurrency_limit:, runinfo.MinConcurrencyLimit to
	// MaxConcurrencyLimit), 0 for no limit; CollisionStrategy what a run
	// over it does (collision_strategy:, one of
	// runinfo.CollisionStrategies, the first when not given; "" without a
	// limit). Each run carries them (Concurrency).
	ConcurrencyLimit  int
	CollisionStrategy string
	// manifest is the loaded manifest it belongs to, which Downstream
	// searches for the triggers that name it; nil for one made by hand.
	manifest *Manifest
}

// Default returns the manifest embedded in the binary, of the flows of
// reg, so that the CLI works from any directory without a file.
func Default(reg *flow.Registry) (*Manifest, error) {
	return Parse(reg, DefaultPath, defaultManifest)
}

// DefaultYAML returns the embedded manifest's text, for `blueprint` to show
// or write out as a starting point.
func DefaultYAML() []byte { return slices.Clone(defaultManifest) }

// MaxManifestSize bounds the manifest file; a deployments file is a few
// kilobytes, anything near this size is a wrong path.
const MaxManifestSize = 4 << 20

// Load reads and parses the manifest at path, of the flows of reg; ""
// means the embedded default. A missing or unreadable file is an
// *badinput.Error.
func Load(reg *flow.Registry, path string) (*Manifest, error) {
	switch path {
	case "":
		return Default(reg)
	case "-":
		return nil, badinput.Errorf("manifest: reading it from standard input is not supported; pass a file path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, badinput.Errorf("manifest: %w", err)
	}
	if fi.IsDir() {
		return nil, badinput.Errorf("manifest %s: is a directory; pass the YAML file (e.g. %s/deployments.yaml)", path, strings.TrimSuffix(path, "/"))
	}
	if fi.Size() > MaxManifestSize {
		return nil, badinput.Errorf("manifest %s: %d bytes is larger than the %d-byte limit", path, fi.Size(), MaxManifestSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("manifest: %w", err)
	}
	return Parse(reg, path, data)
}

// Names lists the deployment names in manifest order.
func (m *Manifest) Names() []string {
	names := make([]string, 0, len(m.Deployments))
	for _, d := range m.Deployments {
		names = append(names, d.Name)
	}
	return names
}

// Get returns the deployment called name, or written Prefect's way,
// FLOW/NAME. An unknown name is an *badinput.Error listing the valid
// names and the nearest one.
func (m *Manifest) Get(name string) (Deployment, error) {
	flow, name := splitFlow(name)
	for _, d := range m.Deployments {
		if d.Name == name {
			return d, checkFlow(flow, d)
		}
	}
	if name == "" {
		return Deployment{}, badinput.Errorf("no deployment name given (deployments in %s: %s)", m.Path, strings.Join(m.Names(), ", "))
	}
	return Deployment{}, badinput.Errorf("unknown deployment %q in %s (valid: %s)%s", name, m.Path, strings.Join(m.Names(), ", "), suggest.DidYouMean(name, m.Names()))
}

// DefaultWorkflow is the flow of a deployment that names none.
const DefaultWorkflow = datapipeline.WorkflowType

// Flow returns the flow the deployment starts. An unknown name is a
// *badinput.Error.
func (d Deployment) Flow() (*flow.Flow, error) {
	name := d.Workflow
	if name == "" {
		name = DefaultWorkflow
	}
	if d.Flows == nil {
		return nil, fmt.Errorf("deployment %q: no flows to find its workflow %s in (a Deployment made by hand must set Flows)", d.Name, name)
	}
	f, err := d.Flows.Get(name)
	if err != nil {
		return nil, badinput.Errorf("deployment %q: %w", d.Name, err)
	}
	return f, nil
}

// Params returns the run parameters of the deployment as the complete
// JSON document the workflow receives: the flow's defaults with the
// manifest's values on top, every rule checked. Errors are
// *badinput.Error.
func (d Deployment) Params() (map[string]any, error) {
	f, err := d.Flow()
	if err != nil {
		return nil, err
	}
	p, err := d.Input(d.Parameters)
	if err == nil {
		p, err = f.Params.Check(p)
	}
	if err != nil {
		return nil, badinput.Errorf("deployment %q: %w", d.Name, err)
	}
	return p, nil
}

// Input completes a run's parameter values for the workflow, before they
// are checked: every source:NAME in a parameter with the source_url rule
// gets the definition of that source from the manifest's sources:, in the
// member of the input that carries definitions (see Sources), and a
// declared dataset named by a parameter with the dataset rule gets its
// definition from the manifest's datasets: (see Datasets). Errors are a
// *flow.ValidationError, or the *badinput.Error of an unknown flow.
func (d Deployment) Input(params map[string]any) (map[string]any, error) {
	f, err := d.Flow()
	if err != nil {
		return nil, err
	}
	in, err := resolveSources(f.Params, params, d.Sources)
	if err != nil {
		return nil, err
	}
	return resolveDataset(f.Params, in, d.Datasets)
}

// ScheduleID is the Temporal Schedule ID of the deployment's i-th schedule:
// the deployment name for the first (so that a deployment that had one
// schedule keeps it when it gets more), NAME-SLUG for the others. Run
// workflow IDs start with it.
func (d Deployment) ScheduleID(i int) string {
	if i == 0 {
		return d.Name
	}
	slug := d.Schedules[i].Slug
	if slug == "" {
		slug = DefaultSlug(i)
	}
	return d.Name + "-" + slug
}

// DefaultSlug is the slug of the i-th schedule (from 0) of a deployment
// when the manifest gives none: its position from 1, so the second
// schedule of production-etl is production-etl-2. A position is stable as
// long as the list is, and editing a schedule's cron or interval keeps its
// ID (a slug made from the spec would delete and recreate it instead).
func DefaultSlug(i int) string { return strconv.Itoa(i + 1) }

// Slugs lists the slugs of the deployment's schedules, in manifest order.
func (d Deployment) Slugs() []string {
	out := make([]string, len(d.Schedules))
	for i, s := range d.Schedules {
		out[i] = cmp.Or(s.Slug, DefaultSlug(i))
	}
	return out
}

// ScheduleBySlug finds the schedule of the deployment whose slug is slug.
// An unknown slug is a *badinput.Error naming the valid ones.
func (d Deployment) ScheduleBySlug(slug string) (int, error) {
	slugs := d.Slugs()
	if i := slices.Index(slugs, slug); i >= 0 {
		return i, nil
	}
	if len(slugs) == 0 {
		return 0, badinput.Errorf("deployment %q has no schedule", d.Name)
	}
	return 0, badinput.Errorf("deployment %q has no schedule with slug %q (valid: %s)%s", d.Name, slug, strings.Join(slugs, ", "), suggest.DidYouMean(slug, slugs))
}

// ForSchedule returns the deployment as its i-th schedule runs it: the
// schedule's parameters over the deployment's. Params then gives that
// schedule's run parameters.
func (d Deployment) ForSchedule(i int) Deployment {
	if over := d.Schedules[i].Parameters; len(over) > 0 {
		d.Parameters = maps.Clone(d.Parameters)
		if d.Parameters == nil {
			d.Parameters = map[string]any{}
		}
		maps.Copy(d.Parameters, over)
	}
	return d
}

// Problem is one thing wrong with a manifest.
type Problem struct {
	File string
	Line int
	// Field is the path of the offending value, e.g.
	// "deployments[0].schedule.cron"; empty for the file as a whole.
	Field string
	Msg   string
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Msg)
}

// ManifestError lists every problem found in a manifest, in file order,
// one per line. Parse returns it wrapped in a *badinput.Error.
type ManifestError struct {
	Problems []Problem
	// Omitted counts problems found after the first hundred and not kept;
	// checking stops early then, so it is a lower bound.
	Omitted int
}

// maxProblems caps the report: past a few dozen, the file is not a
// manifest at all and more lines do not help.
const maxProblems = 20

func (e *ManifestError) Error() string {
	lines := make([]string, 0, min(len(e.Problems), maxProblems)+1)
	for i, p := range e.Problems {
		if i == maxProblems {
			break
		}
		lines = append(lines, p.String())
	}
	switch more := len(e.Problems) - len(lines); {
	case e.Omitted > 0:
		lines = append(lines, fmt.Sprintf("... and at least %d more problems", more+e.Omitted))
	case more > 0:
		lines = append(lines, fmt.Sprintf("... and %d more problems", more))
	}
	return strings.Join(lines, "\n")
}

// Problems returns the manifest problems err carries, or nil.
func Problems(err error) []Problem {
	var me *ManifestError
	if errors.As(err, &me) {
		return me.Problems
	}
	return nil
}

// Names of the deployment and schedule keys, in the order they are
// documented.
var (
	manifestKeys   = []string{"deployments", "sources", "datasets"}
	deploymentKeys = []string{"name", "description", "tags", "workflow", "task_queue", "parameters", "schedule", "schedules", "notify", "triggers", "concurrency_limit", "collision_strategy"}
	scheduleKeys   = []string{"slug", "cron", "interval", "offset", "timezone", "active", "paused", "note", "overlap", "catchup_window", "jitter", "parameters"}
)

// Schedule defaults and bounds.
const (
	DefaultOverlap       = "skip"
	DefaultCatchupWindow = time.Hour
	// MinCatchupWindow is the smallest catch-up window Temporal accepts.
	MinCatchupWindow = 10 * time.Second
	MaxJitter        = 24 * time.Hour
	// DefaultTimezone applies when a schedule names none.
	DefaultTimezone = "UTC"
)
