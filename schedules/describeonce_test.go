package schedules_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/schedules"
)

// describeCounter counts the DescribeSchedule calls of a client per
// schedule ID, and the most in flight at once.
type describeCounter struct {
	mu              sync.Mutex
	calls           map[string]int
	inFlight, maxIn int
	// retried counts the calls that failed in a way the SDK retries.
	retried int
	// hold holds the first call for a schedule ID until its channel
	// closes.
	hold map[string]chan struct{}
}

func (d *describeCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	r, ok := req.(*workflowservice.DescribeScheduleRequest)
	if !ok {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	d.mu.Lock()
	d.calls[r.GetScheduleId()]++
	first := d.calls[r.GetScheduleId()] == 1
	d.inFlight++
	d.maxIn = max(d.maxIn, d.inFlight)
	hold := d.hold[r.GetScheduleId()]
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.inFlight--; d.mu.Unlock() }()
	if hold != nil && first {
		// A stall on the server: the call waits until the test lets it
		// go, or its caller gives up on it.
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	if sdkRetries(err) {
		// The SDK's own retry interceptor sits outside this one and asks
		// again after a transient error (a scheduler workflow busy
		// starting, on a loaded machine): the command asked once.
		d.mu.Lock()
		d.calls[r.GetScheduleId()]--
		d.retried++
		d.mu.Unlock()
	}
	return err
}

// sdkRetries says whether the SDK's client retries a call that ended with
// err by itself: the codes of its retry interceptor.
func sdkRetries(err error) bool {
	switch status.Code(err) {
	case codes.Aborted, codes.ResourceExhausted, codes.Unavailable, codes.Unknown:
		return true
	}
	return false
}

func (d *describeCounter) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls, d.inFlight, d.maxIn, d.retried = map[string]int{}, 0, 0, 0
}

// countingClient is a client of the test server whose schedule
// descriptions d counts.
func countingClient(t *testing.T, d *describeCounter) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: namespace,
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(d.intercept)}}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// Planning a deploy, and surveying for listings and status, describe each
// schedule once, with at most schedules.DescribeConcurrency in flight:
// hundreds of deployments must not cost two round trips each, one after
// the other.
func TestEachScheduleIsDescribedOnce(t *testing.T) {
	// No hedge (TestAStalledDescriptionIsAskedAgain): a description that
	// stalls on the server is asked once all the same.
	t.Cleanup(schedules.SetHedgeAfter(time.Hour))
	const n = schedules.DescribeConcurrency + 4
	ids, m := deployPaused(t, "once", n)

	var d describeCounter
	c := countingClient(t, &d)
	want := map[string]int{}
	for _, id := range ids {
		want[id] = 1
	}

	d.reset()
	plan, err := schedules.PlanDeploy(ctx(t), c, namespace, m, false)
	require.NoError(t, err)
	assert.Len(t, plan.Changes, n)
	for _, ch := range plan.Changes {
		assert.Equal(t, schedules.Unchanged, ch.Action, "%s: %v", ch.ScheduleID, ch.Diff)
	}
	assert.Equal(t, want, d.calls, "PlanDeploy (%d calls retried by the SDK)", d.retried)
	assert.LessOrEqual(t, d.maxIn, schedules.DescribeConcurrency)

	d.reset()
	states, plan, err := schedules.Survey(ctx(t), c, namespace, m)
	require.NoError(t, err)
	assert.Equal(t, want, d.calls, "Survey (%d calls retried by the SDK)", d.retried)
	assert.LessOrEqual(t, d.maxIn, schedules.DescribeConcurrency)
	require.Len(t, states, n)
	for _, id := range ids {
		assert.True(t, states[id].Deployed && states[id].Managed && states[id].Paused, "%s: %+v", id, states[id])
	}
	assert.Len(t, plan.Changes, n)

	// A schedule edited outside blueprint is still seen by the survey.
	h := srv.Client().ScheduleClient().GetHandle(ctx(t), ids[3])
	require.NoError(t, h.Update(ctx(t), client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec.TimeZoneName = "Asia/Tokyo"
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	_, plan, err = schedules.Survey(ctx(t), c, namespace, m)
	require.NoError(t, err)
	assert.Equal(t, schedules.Update, plan.Changes[3].Action)
	assert.Equal(t, ids[3], plan.Changes[3].ScheduleID)
}

// TestAStalledDescriptionIsAskedAgain: a schedule whose description does
// not come within the hedge delay (a stall on the server side) is asked
// for once more, and the command goes on with the second answer instead
// of waiting for the first.
func TestAStalledDescriptionIsAskedAgain(t *testing.T) {
	t.Cleanup(schedules.SetHedgeAfter(50 * time.Millisecond))
	const n = 4
	ids, m := deployPaused(t, "hedge", n)

	stalled := make(chan struct{})
	t.Cleanup(func() { close(stalled) })
	d := describeCounter{hold: map[string]chan struct{}{ids[2]: stalled}}
	c := countingClient(t, &d)
	d.reset()
	states, plan, err := schedules.Survey(ctx(t), c, namespace, m)
	require.NoError(t, err, "the survey ends while the first description of %s is still held", ids[2])
	assert.True(t, states[ids[2]].Deployed && states[ids[2]].Paused, "%+v", states[ids[2]])
	for _, ch := range plan.Changes {
		assert.Equal(t, schedules.Unchanged, ch.Action, "%s: %v", ch.ScheduleID, ch.Diff)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	assert.Equal(t, 2, d.calls[ids[2]], "the stalled description was asked for once more")
}

// deployPaused deploys n paused DataPipeline deployments named
// PREFIX-00, PREFIX-01, ..., and returns their names and the manifest.
func deployPaused(t *testing.T, prefix string, n int) ([]string, *deployments.Manifest) {
	t.Helper()
	var yaml strings.Builder
	yaml.WriteString("deployments:\n")
	var ids []string
	for i := range n {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		ids = append(ids, name)
		deleteSchedule(t, name)
		fmt.Fprintf(&yaml, "  - name: %s\n    parameters: {batch_size: 10, source_url: \"demo://orders\"}\n    schedule:\n      cron: \"%d 3 * * *\"\n      paused: true\n", name, i)
	}
	m := manifest(t, yaml.String())
	deploy(t, m, false)
	return ids, m
}
