// Package starter turns a deployment name and parameters into a started
// workflow: `blueprint run` is a thin shell around Start. Everything the
// user typed is checked before the server is asked for anything, so an
// input error never leaves a half-started run behind.
//
// It must not import `internal/store`, `activities`, `workflows` or `flows`:
// it is given the manifest, which holds the flow registry.
package starter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/webui"
)

// Request is what `blueprint run` was asked to start.
type Request struct {
	// Deployment names a deployment in the manifest.
	Deployment string
	// ParamsJSON is a JSON object of parameters (--params); may be empty.
	ParamsJSON []byte
	// Params are "key=value" overrides (--param), applied in order after
	// ParamsJSON.
	Params []string
	// WorkflowID is the ID to start with; empty generates one.
	WorkflowID string
	// StartDelay postpones the run (`run --start-in/--start-at`): the
	// server creates it at once and dispatches its first workflow task this
	// much later, Temporal's start delay. Zero starts it now; see
	// ParseStartDelay.
	StartDelay time.Duration
}

// Started describes a started run.
type Started struct {
	Deployment string
	WorkflowID string
	RunID      string
	TaskQueue  string
	// Workflow is the flow that was started.
	Workflow string
	// Params is the complete parameter document the run received.
	Params map[string]any
	// StartDelay is the run's start delay (0: it started at once).
	StartDelay time.Duration
	// RetryOf is the run a retry retries, as runinfo.RetryOf writes it;
	// "" for any other run.
	RetryOf string
}

// MaxWorkflowIDLength is the Temporal server's default limit.
const MaxWorkflowIDLength = 1000

// RetryOfKey is the typed search attribute that links a retry to the run
// it retries (see Retry).
var RetryOfKey = temporal.NewSearchAttributeKeyKeyword(runinfo.RetryOfSearchAttribute)

// searchAttributes are blueprint's custom search attributes, all Keyword:
// EnsureSearchAttributes registers them.
var searchAttributes = []string{runinfo.DeploymentSearchAttribute, runinfo.RetryOfSearchAttribute}

// Options returns the start options of a run of d with params (the
// complete parameter document): its task queue, the given workflow ID (or
// a generated one), the BlueprintDeployment search attribute, the memo
// (Memo), the Web UI's summary and details (Describe) and a FAIL conflict
// policy, so that starting with the ID of a running workflow is an error
// instead of silently attaching to it. No execution timeout is set: a
// large backfill may legitimately run for hours.
func Options(d deployments.Deployment, workflowID string, params map[string]any) client.StartWorkflowOptions {
	if workflowID == "" {
		workflowID = NewWorkflowID(d.Name, time.Now())
	}
	queue := d.Queue()
	desc := Describe(d, params)
	return client.StartWorkflowOptions{
		Memo:                                     Memo(d),
		ID:                                       workflowID,
		TaskQueue:                                queue,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(d.Name)),
		StaticSummary:                            desc.Summary,
		StaticDetails:                            desc.Details,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
}

// Memo returns the memo every run of d starts with, by hand, by a
// schedule or as a retry: the deployment's webhooks (runinfo.MemoNotify),
// which the run's end reads to notify them, the runs its end may start
// (runinfo.MemoTriggers, see Triggers) and its concurrency limit
// (runinfo.MemoConcurrency), which the run waits on before its flow's code
// runs: whatever starts a run goes through here, so none skips the limit.
// Never nil.
func Memo(d deployments.Deployment) map[string]any {
	memo := map[string]any{}
	if len(d.Notify) > 0 {
		memo[runinfo.MemoNotify] = d.Notify
	}
	if t := Triggers(d); len(t) > 0 {
		memo[runinfo.MemoTriggers] = t
	}
	if c := d.Concurrency(); c != nil {
		memo[runinfo.MemoConcurrency] = c
	}
	return memo
}

// Triggers returns the start requests of the runs a run of d may start
// when it ends: one for each triggers: entry of the manifest that names d
// (deployments.Deployment.Downstream), each carrying its own deployment's
// webhooks and, recursively, its own triggers, so that the worker needs no
// manifest and a schedule keeps what it was deployed with. The loader
// refuses cycles, so the recursion ends. The summary and details are
// Describe's, with each templated parameter shown as its template.
func Triggers(d deployments.Deployment) []runinfo.Trigger {
	var out []runinfo.Trigger
	for _, ds := range d.Downstream() {
		t, b := ds.Trigger(), ds.Deployment
		f, err := b.Flow()
		if err != nil {
			continue // a loaded manifest knows every flow
		}
		params, err := ds.Params()
		if err != nil {
			continue // checked by the loader
		}
		shown := maps.Clone(params)
		for name, text := range t.Templates {
			shown[name] = text
		}
		desc := Describe(b, shown)
		queue := b.Queue()
		var templates map[string]string
		if len(t.Templates) > 0 {
			templates = maps.Clone(t.Templates)
		}
		out = append(out, runinfo.Trigger{
			Deployment:  b.Name,
			Index:       ds.Index,
			On:          slices.Clone(t.On),
			Delay:       t.Delay,
			Workflow:    f.Name,
			TaskQueue:   queue,
			Parameters:  params,
			Templates:   templates,
			Notify:      b.Notify,
			Triggers:    Triggers(b),
			Concurrency: b.Concurrency(),
			Summary:     desc.Summary,
			Details:     desc.Details,
		})
	}
	return out
}

// NewWorkflowID returns "<deployment>-<UTC yyyymmddThhmmssZ>-<12 hex>": it
// sorts by start time in listings, says which deployment it belongs to, and
// the random suffix keeps starts in the same second apart. Its 48 bits make
// a clash of 200 starts of one deployment in one second about one in 10^10;
// with 24 bits it was one in 800, and `make bench` met it (the second start
// failed with "Workflow execution is already running").
func NewWorkflowID(deployment string, at time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%s-%s-%s", deployment, at.UTC().Format("20060102T150405Z"), hex.EncodeToString(b[:]))
}

// checkWorkflowID applies the server's rules to a user-given ID up front.
func checkWorkflowID(id string) error {
	switch {
	case id == "":
		return nil
	case strings.TrimSpace(id) == "":
		return badinput.Errorf("--workflow-id: is blank")
	case len(id) > MaxWorkflowIDLength:
		return badinput.Errorf("--workflow-id: %d characters is longer than the %d-character limit", len(id), MaxWorkflowIDLength)
	case strings.ContainsFunc(id, unicode.IsControl):
		return badinput.Errorf("--workflow-id %q: must not contain control characters", id)
	}
	return nil
}

// Start validates the request and starts the deployment's workflow. Nothing
// is started when the request has an input error (*badinput.Error).
//
// When the server does not know the BlueprintDeployment search attribute
// (a fresh server, never deployed to), Start registers it and tries once
// more, so that `blueprint run` works without a prior `blueprint deploy` and
// the common path costs a single round trip. m is the loaded manifest
// (deployments.Load), which knows the flows its deployments start.
func Start(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, req Request) (Started, error) {
	d, err := m.Get(req.Deployment)
	if err != nil {
		return Started{}, err
	}
	params, err := ParseParams(d, req.ParamsJSON, req.Params)
	if err != nil {
		return Started{}, err
	}
	if err := checkWorkflowID(req.WorkflowID); err != nil {
		return Started{}, err
	}
	if req.StartDelay < 0 {
		return Started{}, badinput.Errorf("start delay %s: must not be negative", req.StartDelay)
	}
	f, err := d.Flow()
	if err != nil {
		return Started{}, err
	}
	opts := Options(d, req.WorkflowID, params)
	opts.StartDelay = req.StartDelay
	return execute(ctx, c, namespace, d, f.Name, opts, params)
}

// execute starts a run with opts: the last step of Start and Retry.
func execute(ctx context.Context, c client.Client, namespace string, d deployments.Deployment, workflow string, opts client.StartWorkflowOptions, params map[string]any) (Started, error) {
	run, err := c.ExecuteWorkflow(ctx, opts, workflow, params)
	if err != nil && isUnknownSearchAttribute(err) {
		if serr := EnsureSearchAttributes(ctx, c, namespace); serr != nil {
			return Started{}, fmt.Errorf("start %s: %w", d.Name, serr)
		}
		run, err = c.ExecuteWorkflow(ctx, opts, workflow, params)
	}
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			return Started{}, badinput.Errorf("workflow ID %q is already in use by a running workflow (run %s); pass another --workflow-id or leave it out to generate one: %w", opts.ID, already.RunId, err)
		}
		return Started{}, fmt.Errorf("start workflow %s for deployment %s: %w", opts.ID, d.Name, err)
	}
	retryOf, _ := opts.TypedSearchAttributes.GetKeyword(RetryOfKey)
	return Started{
		Deployment: d.Name,
		WorkflowID: run.GetID(),
		RunID:      run.GetRunID(),
		TaskQueue:  opts.TaskQueue,
		Workflow:   workflow,
		Params:     params,
		StartDelay: opts.StartDelay,
		RetryOf:    retryOf,
	}, nil
}

// isUnknownSearchAttribute recognises the server's InvalidArgument for a
// search attribute that is not registered in the namespace.
func isUnknownSearchAttribute(err error) bool {
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) {
		return false
	}
	msg := strings.ToLower(invalid.Error())
	known := false
	for _, name := range searchAttributes {
		known = known || strings.Contains(msg, strings.ToLower(name))
	}
	return known && (strings.Contains(msg, "not defined") || strings.Contains(msg, "no mapping defined") || strings.Contains(msg, "unknown"))
}

// EnsureSearchAttributes registers blueprint's custom search attributes
// (BlueprintDeployment and BlueprintRetryOf, both Keyword) in namespace,
// each that is missing. It is idempotent: an attribute that already exists
// counts as success.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	if namespace == "" {
		return errors.New("register search attributes: no namespace given")
	}
	// One at a time: the server refuses a whole request when one of its
	// attributes exists already.
	for _, name := range searchAttributes {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace:        namespace,
			SearchAttributes: map[string]enumspb.IndexedValueType{name: enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		})
		var exists *serviceerror.AlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("register search attribute %s (Keyword) in namespace %s (on Temporal Cloud, add it with tcld or the Cloud UI): %w",
				name, namespace, err)
		}
	}
	return nil
}

// DefaultUIURL is the Web UI of `temporal server start-dev`.
const DefaultUIURL = webui.DefaultURL

// UILink returns the Web UI address of a workflow run. The base is
// $BLUEPRINT_UI_URL, else DefaultUIURL.
func UILink(namespace, workflowID, runID string) string {
	return webui.RunLink(namespace, workflowID, runID)
}
