package deployments

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// MaxWebhooks bounds a deployment's notify: list. Every run carries the
// list in its memo and POSTs once per webhook when it ends.
const MaxWebhooks = 10

// webhookKeys are the keys of one notify: entry, in documented order.
var webhookKeys = []string{"url_env", "events"}

// literalURLMsg refuses a webhook URL written in the manifest. The URL is
// the webhook's only credential: in the manifest it would sit in version
// control and in the history of every run. The value is never shown.
const literalURLMsg = "a webhook URL is a secret and does not belong in the manifest (it would be stored with every run); " +
	"put it in an environment variable of the worker and name the variable: url_env: SLACK_WEBHOOK_URL"

// notify parses a deployment's notify: list of webhooks, each
// {url_env: VARIABLE, events: [failed, completed, cancelled]}.
func (p *parser) notify(field string, e entry) []runinfo.Webhook {
	n := e.val
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, field, "must be a list of webhooks such as [{url_env: SLACK_WEBHOOK_URL, events: [failed]}], got %s", describe(n))
		return nil
	}
	if len(n.Content) > MaxWebhooks {
		p.add(e.key.Line, field, "%d webhooks is more than the %d allowed", len(n.Content), MaxWebhooks)
		return nil
	}
	hooks := []runinfo.Webhook{}
	seen := map[string]int{}
	for i, item := range n.Content {
		item = resolve(item)
		f := fmt.Sprintf("%s[%d]", field, i)
		h, ok := p.webhook(f, item)
		if !ok {
			continue
		}
		if first, dup := seen[h.URLEnv]; dup {
			p.add(item.Line, join(f, "url_env"), "$%s is already a webhook of this deployment (line %d); give it every event it wants there", h.URLEnv, first)
			continue
		}
		seen[h.URLEnv] = item.Line
		hooks = append(hooks, h)
	}
	return hooks
}

// webhook parses one notify: entry; ok is false when it has a problem.
func (p *parser) webhook(field string, n *yaml.Node) (h runinfo.Webhook, ok bool) {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping such as {url_env: SLACK_WEBHOOK_URL, events: [failed]}, got %s", describe(n))
		return h, false
	}
	before := len(p.problems) + p.omitted
	hasEnv, hasEvents := false, false
	for _, e := range p.entries(field, n) {
		f := join(field, e.name)
		switch e.name {
		case "url_env":
			hasEnv = true
			v, good := p.scalar(f, e.val)
			if !good {
				continue
			}
			if err := restapi.CheckEnvName(v); err != nil {
				p.add(e.val.Line, f, "%v", err)
				continue
			}
			h.URLEnv = v
		case "events":
			hasEvents = true
			h.Events = p.events(f, e.val)
		case "url":
			p.add(e.key.Line, f, "%s", literalURLMsg)
		default:
			p.unknownKey(e, field, webhookKeys)
		}
	}
	if !hasEnv {
		p.add(n.Line, field+".url_env", "missing; name the worker's environment variable that holds the webhook URL, e.g. url_env: SLACK_WEBHOOK_URL")
	}
	if !hasEvents {
		p.add(n.Line, field+".events", "missing; list the events to be told of (%s)", strings.Join(runinfo.Events, ", "))
	}
	return h, len(p.problems)+p.omitted == before
}

// events parses a webhook's events: a non-empty list of runinfo.Events.
func (p *parser) events(field string, n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.add(n.Line, field, "must be a non-empty list of events such as [failed, cancelled] (valid: %s), got %s", strings.Join(runinfo.Events, ", "), describe(n))
		return nil
	}
	var out []string
	for j, item := range n.Content {
		item = resolve(item)
		f := fmt.Sprintf("%s[%d]", field, j)
		v, ok := p.scalar(f, item)
		switch {
		case !ok:
		case !slices.Contains(runinfo.Events, v):
			p.add(item.Line, f, "unknown event %q (valid: %s)%s", clean(v), strings.Join(runinfo.Events, ", "), suggest.DidYouMean(v, runinfo.Events))
		case slices.Contains(out, v):
			p.add(item.Line, f, "duplicate event %q", v)
		default:
			out = append(out, v)
		}
	}
	return out
}
