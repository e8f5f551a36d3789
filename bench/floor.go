package main

import (
	"context"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/workflows"
)

// The floor is the least a three-stage workflow can cost on a server: the
// pipeline's shape (three activities in sequence, with the pipeline's
// activity options and input) with no work in the activities. The pipeline's
// latency over the floor is what its own work costs.
const (
	floorWorkflowType = "BenchFloor"
	floorActivityName = "BenchNoop"
)

// registerFloor registers the floor next to the pipeline on w.
func registerFloor(w sdkworker.Registry) {
	w.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: floorWorkflowType})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: floorActivityName})
}

// floorWorkflow runs three no-op activities in sequence with the
// pipeline's activity options.
func floorWorkflow(ctx workflow.Context, params datapipeline.Params) (datapipeline.Summary, error) {
	actx := workflow.WithActivityOptions(ctx, workflows.ActivityOptions())
	for _, stage := range []string{runinfo.StageExtract, runinfo.StageTransform, runinfo.StageLoad} {
		if err := workflow.ExecuteActivity(actx, floorActivityName, stage).Get(ctx, nil); err != nil {
			return datapipeline.Summary{}, err
		}
	}
	return datapipeline.Summary{BatchSize: params.BatchSize}, nil
}

// noop does nothing: its cost is the orchestration alone.
func noop(context.Context, string) error { return nil }
