package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/flow"
)

func (a *app) flowsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "flows",
		Aliases: []string{"flow"},
		Short:   "List the flows this blueprint runs and show their parameters",
		Long: `A flow is a workflow with typed parameters: DataPipeline, OrdersReport,
NightlyETL and any you add (see "Write your own flow" in docs/flows.md). A
deployment names the flow it runs with 'workflow:'. 'flows inspect' shows each
parameter's type, default, rule and description; with -o json it prints them
as a JSON Schema (draft 2020-12).`,
		Example: `  blueprint flows ls
  blueprint flows inspect NightlyETL
  blueprint flows inspect OrdersReport -o json`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.flowsLsCommand(), a.flowsInspectCommand())
	return cmd
}

// flowView is one flow in `flows ls -o json`.
type flowView struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	TaskQueue   string   `json:"task_queue"`
	Parameters  []string `json:"parameters"`
}

func (a *app) flowsLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List every registered flow",
		Long: `List every flow the blueprint worker registers (the flows package): its name
(the workflow type a deployment's 'workflow:' names), default task queue,
parameters and description. This needs no server: the list is compiled in.`,
		Example: `  blueprint flows ls
  blueprint flows ls -o json`,
		Args: cobra.NoArgs,
		RunE: a.run(func(context.Context, []string) error {
			var views []flowView
			for _, f := range a.flows.Flows() {
				views = append(views, flowView{Name: f.Name, Description: f.Description, TaskQueue: f.TaskQueue, Parameters: f.Params.Names()})
			}
			if a.json() {
				return a.printJSON(views)
			}
			t := newTable(a.stdout, "FLOW", "TASK QUEUE", "PARAMETERS", "DESCRIPTION")
			for _, v := range views {
				t.row(v.Name, v.TaskQueue, strings.Join(v.Parameters, ", "), v.Description)
			}
			return t.flush()
		}),
	}
}

func (a *app) flowsInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FLOW",
		Short: "Show a flow's parameters: type, default, rule and description",
		Long: `Show every parameter of FLOW (a workflow type, as in 'flows ls'): its type,
default, validation rule and description. With -o json, print the parameters
as a JSON Schema (draft 2020-12), for editors and form builders: validate a
parameter file with it (formats asserted); a rule JSON Schema cannot say, such
as source_url or timezone, is listed under ` + flow.RulesKeyword + ` and checked when
the run starts.`,
		Example: `  blueprint flows inspect DataPipeline
  blueprint flows inspect NightlyETL -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(_ context.Context, args []string) error {
			f, err := a.flows.Get(args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(f.JSONSchema())
			}
			fmt.Fprintf(a.stdout, "Flow %s\n", f.Name)
			fields := newFields(a.stdout, "  ")
			fields.add("Description", "%s", orDash(f.Description))
			fields.add("Task queue", "%s", f.TaskQueue)
			if err := fields.flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "\nParameters:")
			t := newTable(a.stdout, "  NAME", "TYPE", "DEFAULT", "RULE", "DESCRIPTION")
			for _, p := range f.Params.All() {
				t.row("  "+p.Path, kindText(p), defaultText(p), p.Rule, p.Help)
			}
			return t.flush()
		}),
	}
}

func kindText(p *flow.Param) string {
	if p.Kind == flow.Enum {
		return "enum(" + strings.Join(p.Enum, "|") + ")"
	}
	return string(p.Kind)
}

func defaultText(p *flow.Param) string {
	switch {
	case p.Kind == flow.Object:
		return "(from its fields)"
	case p.Default == nil:
		return ""
	}
	return deployments.FormatValue(p.Default)
}
