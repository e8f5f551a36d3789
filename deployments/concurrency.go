package deployments

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Concurrency returns the deployment's concurrency limit as each of its
// runs carries it (runinfo.MemoConcurrency), nil without a limit. Its
// TaskQueue is the deployment's (Queue): the semaphore runs where the
// deployment's worker polls.
func (d Deployment) Concurrency() *runinfo.Concurrency {
	if d.ConcurrencyLimit == 0 {
		return nil
	}
	strategy := d.CollisionStrategy
	if strategy == "" {
		strategy = runinfo.CollisionStrategies[0]
	}
	return &runinfo.Concurrency{Deployment: d.Name, Limit: d.ConcurrencyLimit, Strategy: strategy, TaskQueue: d.Queue()}
}

// Queue returns the task queue the deployment's runs start on: its
// task_queue, else its flow's, else runinfo.TaskQueue (a Deployment made
// by hand with an unknown flow). A loaded manifest sets TaskQueue already.
func (d Deployment) Queue() string {
	if d.TaskQueue != "" {
		return d.TaskQueue
	}
	if f, err := d.Flow(); err == nil {
		return f.TaskQueue
	}
	return runinfo.TaskQueue
}

// FormatConcurrency renders a limit for the CLI and plan lines: "1
// (enqueue)", or "none" for nil.
func FormatConcurrency(c *runinfo.Concurrency) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", c.Limit, c.Strategy)
}

// concurrencyLimit parses concurrency_limit: a plain YAML integer within
// runinfo.MinConcurrencyLimit..MaxConcurrencyLimit (a quoted "2" or 2.0 is
// refused: the manifest is strict about types everywhere).
func (p *parser) concurrencyLimit(field string, n *yaml.Node) int {
	v, ok := p.scalar(field, n)
	if !ok {
		return 0
	}
	limit, err := strconv.Atoi(v)
	if n.ShortTag() != "!!int" || err != nil || !digitsRE.MatchString(v) {
		shown := clean(v)
		if n.ShortTag() == "!!str" {
			shown = strconv.Quote(v)
		}
		p.add(n.Line, field, "%s is not an integer; give the number of runs that may run at once, %d to %d, e.g. concurrency_limit: 1",
			shown, runinfo.MinConcurrencyLimit, runinfo.MaxConcurrencyLimit)
		return 0
	}
	if limit < runinfo.MinConcurrencyLimit || limit > runinfo.MaxConcurrencyLimit {
		p.add(n.Line, field, "%d is out of range; must be %d to %d (leave the key out for no limit)",
			limit, runinfo.MinConcurrencyLimit, runinfo.MaxConcurrencyLimit)
		return 0
	}
	return limit
}

// collisionStrategy parses collision_strategy: one of
// runinfo.CollisionStrategies, spelt as blueprint spells them (Prefect's
// ENQUEUE gets a did-you-mean).
func (p *parser) collisionStrategy(field string, n *yaml.Node) string {
	v, ok := p.scalar(field, n)
	if !ok {
		return ""
	}
	if !slices.Contains(runinfo.CollisionStrategies, v) {
		p.add(n.Line, field, "unknown collision strategy %q (valid: %s)%s", clean(v),
			strings.Join(runinfo.CollisionStrategies, ", "), suggest.DidYouMean(v, runinfo.CollisionStrategies))
		return ""
	}
	return v
}
