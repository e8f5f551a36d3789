package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/schedules"
)

func (a *app) deployCommand() *cobra.Command {
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create or update the Temporal Schedules of the manifest's deployments",
		Long: `Make the server's schedules match the manifest: each schedule of a deployment
becomes a Temporal Schedule. The first has the deployment name as its ID, the
others NAME-SLUG (the slug given in the manifest, else the position: 2, 3...).

Deploy first reads the server and computes the whole plan, then applies it, and
prints per schedule ID whether it was created, updated (with what changed), left
unchanged or deleted. It is safe to run as often as you like:

  - a schedule that already matches the manifest is left alone, so deploying
    twice never creates a duplicate or a second run;
  - a schedule paused on the server (blueprint deployment pause, the Web UI)
    stays paused unless the manifest says "paused: false";
  - an invalid manifest changes nothing: every deployment is checked before
    the first change;
  - --prune deletes the schedules blueprint created that the manifest no longer
    has (their deployment left it, or they left their deployment's list), never
    a schedule made any other way.

--dry-run prints the plan and changes nothing.

Before anything, the tables of the datasets the deployments load (the manifest's
datasets:) are checked in the workers' warehouse (--database-url, else
$BLUEPRINT_DATABASE_URL, else ./data/warehouse.db), when there is one: a
definition the table cannot follow (a field's type changed, a decimal narrowed,
another key) exits with code 2, naming the column and both types, and nothing is
deployed. 'blueprint datasets inspect NAME' shows the table and the change.`,
		Example: `  blueprint deploy --dry-run
  blueprint deploy
  blueprint deploy -f deployments.yaml --prune
  blueprint deploy -o json`,
		Args: cobra.NoArgs,
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, _ []string) error {
			if err := schedules.Validate(m); err != nil {
				return err // bad input is reported as such even with the server down
			}
			var defs []dataset.Definition
			for _, d := range m.Deployments {
				for _, def := range d.DeclaredDatasets() {
					if !slices.ContainsFunc(defs, func(o dataset.Definition) bool { return o.Name == def.Name }) {
						defs = append(defs, def)
					}
				}
			}
			if err := a.checkDatasetTables(ctx, "deploy", defs); err != nil {
				return err
			}
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			ns := a.settings.Namespace
			plan, err := schedules.PlanDeploy(ctx, c, ns, m, prune)
			if err != nil {
				return err
			}
			if dryRun {
				return a.printDeploy(m, plan.Changes, plan.Orphans, true)
			}
			applied, err := schedules.Apply(ctx, c, ns, m, plan)
			if perr := a.printDeploy(m, applied, plan.Orphans, false); perr != nil {
				return perr
			}
			if err != nil {
				if len(applied) > 0 {
					return fmt.Errorf("deploy stopped after %s: %w (what is listed above was applied; fix the cause and deploy again)", plural(len(applied), "schedule"), err)
				}
				return fmt.Errorf("deploy: %w", err)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete schedules blueprint created that the manifest no longer has")
	cmd.Flags().StringVar(&a.databaseURL, "database-url", "",
		"the workers' warehouse, whose dataset tables are checked against the manifest first (default: $"+envDatabaseURL+", else "+store.DefaultSQLitePath+")")
	return cmd
}

// deployReport is deploy's JSON output.
type deployReport struct {
	Namespace string             `json:"namespace"`
	Manifest  string             `json:"manifest"`
	DryRun    bool               `json:"dry_run"`
	Changes   []schedules.Change `json:"changes"`
	// Orphans are schedules blueprint created that the manifest no longer
	// has; --prune deletes them.
	Orphans []string `json:"orphans"`
	// Unscheduled deployments have no schedule: they run by hand.
	Unscheduled []string `json:"unscheduled"`
}

func (a *app) printDeploy(m *deployments.Manifest, changes []schedules.Change, orphans []string, dryRun bool) error {
	var unscheduled []string
	limits := map[string]string{} // of the unscheduled deployments that have one
	for _, d := range m.Deployments {
		if len(d.Schedules) == 0 {
			unscheduled = append(unscheduled, d.Name)
			if c := d.Concurrency(); c != nil {
				limits[d.Name] = deployments.FormatConcurrency(c)
			}
		}
	}
	if a.json() {
		return a.printJSON(deployReport{
			Namespace: a.settings.Namespace, Manifest: m.Path, DryRun: dryRun,
			Changes: nonNil(changes), Orphans: nonNil(orphans), Unscheduled: nonNil(unscheduled),
		})
	}

	w := a.stdout
	width := 0
	for _, c := range changes {
		width = max(width, len(c.ScheduleID))
	}
	for _, n := range unscheduled {
		width = max(width, len(n))
	}
	counts := map[schedules.Action]int{}
	for _, c := range changes {
		counts[c.Action]++
		verb := c.Action.Past()
		if dryRun && c.Action != schedules.Unchanged {
			verb = "would " + string(c.Action)
		}
		fmt.Fprintf(w, "%-*s  %s\n", width, c.ScheduleID, verb)
		for _, line := range c.Diff {
			fmt.Fprintf(w, "%-*s      %s\n", width, "", line)
		}
	}
	for _, n := range unscheduled {
		fmt.Fprintf(w, "%-*s  no schedule (start it with: blueprint run %s)\n", width, n, n)
		if l, ok := limits[n]; ok {
			fmt.Fprintf(w, "%-*s      concurrency: %s\n", width, "", l)
		}
	}
	if len(orphans) > 0 {
		fmt.Fprintf(w, "\nNot in the manifest but created by blueprint: %s (deploy --prune deletes them)\n", strings.Join(orphans, ", "))
	}
	summary := fmt.Sprintf("%d created, %d updated, %d unchanged, %d deleted", counts[schedules.Create], counts[schedules.Update], counts[schedules.Unchanged], counts[schedules.Delete])
	if dryRun {
		summary = fmt.Sprintf("Dry run: %d to create, %d to update, %d unchanged, %d to delete; nothing was changed",
			counts[schedules.Create], counts[schedules.Update], counts[schedules.Unchanged], counts[schedules.Delete])
	}
	fmt.Fprintf(w, "\n%s (namespace %s, manifest %s).\n", summary, a.settings.Namespace, m.Path)
	return nil
}

// nonNil makes an empty list print as [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
