// Package deployments loads the deployments manifest, the blueprint
// equivalent of Prefect's prefect.yaml: named, tagged sets of workflow
// parameters, each with at most one schedule. `blueprint run NAME` starts a
// deployment by hand and `blueprint deploy` turns every schedule into a
// Temporal Schedule whose ID is the deployment name.
//
// Loading is strict: an unknown key, a parameter the workflow does not take,
// a value of the wrong type or an invalid cron expression is reported with
// its file and line before anything reaches the server, because a typo in a
// schedule would otherwise surface as a silently missing nightly run.
package deployments

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
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
}

// Deployment is one named way of running a workflow.
type Deployment struct {
	Name        string
	Description string
	Tags        []string
	// Workflow is the workflow type to start; only pipeline.WorkflowType
	// exists today.
	Workflow string
	// TaskQueue defaults to pipeline.TaskQueue.
	TaskQueue string
	// Parameters holds the manifest's parameter values, typed by their
	// pipeline.ParamSpec: int64 for integer parameters, string for string
	// parameters. Parameters left out are absent (their defaults apply in
	// Params). Never nil in a loaded manifest.
	Parameters map[string]any
	// Schedule is nil for a deployment that only runs by hand.
	Schedule *Schedule
	// Line is where the deployment starts in the manifest (0 if not loaded
	// from a file).
	Line int
	// Sources are the manifest's named sources, which source_url:
	// source:NAME (in the manifest or a --param) refers to.
	Sources Sources
}

// Default returns the manifest embedded in the binary, so that the CLI works
// from any directory without a file.
func Default() (*Manifest, error) {
	return Parse(DefaultPath, defaultManifest)
}

// DefaultYAML returns the embedded manifest's text, for `blueprint` to show
// or write out as a starting point.
func DefaultYAML() []byte { return slices.Clone(defaultManifest) }

// MaxManifestSize bounds the manifest file; a deployments file is a few
// kilobytes, anything near this size is a wrong path.
const MaxManifestSize = 4 << 20

// Load reads and parses the manifest at path; "" means the embedded
// default. A missing or unreadable file is an *pipeline.InputError.
func Load(path string) (*Manifest, error) {
	switch path {
	case "":
		return Default()
	case "-":
		return nil, pipeline.Inputf("manifest: reading it from standard input is not supported; pass a file path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pipeline.Inputf("manifest: %w", err)
	}
	if fi.IsDir() {
		return nil, pipeline.Inputf("manifest %s: is a directory; pass the YAML file (e.g. %s/deployments.yaml)", path, strings.TrimSuffix(path, "/"))
	}
	if fi.Size() > MaxManifestSize {
		return nil, pipeline.Inputf("manifest %s: %d bytes is larger than the %d-byte limit", path, fi.Size(), MaxManifestSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, pipeline.Inputf("manifest: %w", err)
	}
	return Parse(path, data)
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
// FLOW/NAME. An unknown name is an *pipeline.InputError listing the valid
// names and the nearest one.
func (m *Manifest) Get(name string) (Deployment, error) {
	flow, name := splitFlow(name)
	for _, d := range m.Deployments {
		if d.Name == name {
			return d, checkFlow(flow, d)
		}
	}
	if name == "" {
		return Deployment{}, pipeline.Inputf("no deployment name given (deployments in %s: %s)", m.Path, strings.Join(m.Names(), ", "))
	}
	return Deployment{}, pipeline.Inputf("unknown deployment %q in %s (valid: %s)%s", name, m.Path, strings.Join(m.Names(), ", "), suggest.DidYouMean(name, m.Names()))
}

// Params returns the run parameters of the deployment: the workflow's
// defaults with the manifest's values on top, validated. Errors are
// *pipeline.InputError.
func (d Deployment) Params() (pipeline.Params, error) {
	p, err := d.params()
	if err != nil {
		return pipeline.Params{}, pipeline.Inputf("deployment %q: %w", d.Name, err)
	}
	return p, nil
}

// params builds and validates the Params; the error is the bare
// pipeline.ValidationError (or an unknown-parameter error) so that the
// loader can point at the offending line.
func (d Deployment) params() (pipeline.Params, error) {
	for name := range d.Parameters {
		if _, ok := pipeline.LookupParam(name); !ok {
			return pipeline.Params{}, pipeline.UnknownParamError(name)
		}
	}
	return BuildParams(d.Parameters, d.Sources)
}

// BuildParams turns typed parameter values (names already checked against
// pipeline.ParamSpecs) into a validated pipeline.Params. It goes through the
// workflow's own JSON decoding so that defaults and rules live in one place:
// pipeline.Params. A source_url: source:NAME gets its definition from
// sources.
func BuildParams(values map[string]any, sources Sources) (pipeline.Params, error) {
	if values == nil {
		values = map[string]any{}
	}
	values, err := resolveSource(values, sources)
	if err != nil {
		return pipeline.Params{}, err
	}
	b, err := json.Marshal(values)
	if err != nil {
		return pipeline.Params{}, fmt.Errorf("encode parameters: %w", err)
	}
	var p pipeline.Params
	if err := json.Unmarshal(b, &p); err != nil {
		return pipeline.Params{}, fmt.Errorf("decode parameters: %w", err)
	}
	if err := p.Validate(); err != nil {
		return pipeline.Params{}, err
	}
	return p, nil
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
// one per line. Parse returns it wrapped in a *pipeline.InputError.
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
	manifestKeys   = []string{"deployments", "sources"}
	deploymentKeys = []string{"name", "description", "tags", "workflow", "task_queue", "parameters", "schedule"}
	scheduleKeys   = []string{"cron", "timezone", "paused", "note", "overlap", "catchup_window", "jitter"}
	// Workflows are the workflow types a deployment may start.
	Workflows = []string{pipeline.WorkflowType}
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
