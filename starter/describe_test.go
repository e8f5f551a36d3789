package starter_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/starter"
)

func TestDescribe(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	get := func(name string) deployments.Deployment {
		d, err := m.Get(name)
		require.NoError(t, err)
		return d
	}
	prod, nightly := get("production-etl"), get("nightly-etl")

	t.Run("production-etl", func(t *testing.T) {
		params, err := prod.Params()
		require.NoError(t, err)
		got := starter.Describe(prod, params)
		assert.Equal(t, "production-etl · batch_size=1000 · source_url=demo://orders", got.Summary)
		assert.Equal(t, strings.Join([]string{
			"**Deployment:** production-etl",
			"",
			"Daily load of the orders feed into the warehouse.",
			"",
			"**Tags:** etl, orders, production",
			"",
			"**Flow:** DataPipeline on task queue local-process-pool",
			"",
			"**Parameters:**",
			"",
			"- batch_size: `1000`",
			"- source_url: `demo://orders`",
		}, "\n"), got.Details)
	})

	t.Run("every parameter, in the flow's order", func(t *testing.T) {
		params, err := nightly.Params()
		require.NoError(t, err)
		got := starter.Describe(nightly, params)
		assert.True(t, strings.HasPrefix(got.Summary, `nightly-etl · sources=["demo://orders?seed=1","demo://orders?seed=2"] · batch_size=1000`), got.Summary)
		for _, name := range []string{"sources", "batch_size", "max_parallel", "timezone"} {
			assert.Contains(t, got.Details, "\n- "+name+": `", "every parameter is in the details")
		}
		assert.Contains(t, got.Details, "**Flow:** NightlyETL")
		assert.Contains(t, got.Details, "Nightly load of every orders feed")
	})

	t.Run("credentials hidden", func(t *testing.T) {
		got := starter.Describe(prod, map[string]any{"batch_size": int64(5), "source_url": "https://u:hunter2@api.example.com/x?api_key=hunter2&page=1"})
		assert.NotContains(t, got.Summary, "hunter2")
		assert.NotContains(t, got.Details, "hunter2")
		assert.Contains(t, got.Summary, "api.example.com/x?")
	})

	t.Run("one line, Markdown-safe values", func(t *testing.T) {
		got := starter.Describe(prod, map[string]any{"batch_size": int64(5), "source_url": "demo://a\nb`c``d"})
		assert.NotContains(t, got.Summary, "\n")
		assert.Contains(t, got.Details, "- source_url: ``` demo://a%0Ab`c``d ```", "a control character is escaped, the backticks fenced")
		got = starter.Describe(deployments.Deployment{Flows: flows.Registry.Flows(), Name: "h", Workflow: "OrdersReport"}, map[string]any{"timezone": "Europe/Berlin\n"})
		assert.Equal(t, `h · timezone="Europe/Berlin\n"`, got.Summary)
	})

	t.Run("long summaries are cut on a rune boundary", func(t *testing.T) {
		for pad := range 4 { // every alignment of the 3-byte runes against the limit
			d := deployments.Deployment{Flows: flows.Registry.Flows(), Name: "x", Description: strings.Repeat("é", 20000)}
			url := "demo://orders?seed=" + strings.Repeat("a", pad) + strings.Repeat("日", 100)
			got := starter.Describe(d, map[string]any{"batch_size": int64(1), "source_url": url})
			assert.LessOrEqual(t, len(got.Summary), starter.MaxSummaryBytes)
			assert.GreaterOrEqual(t, len(got.Summary), starter.MaxSummaryBytes-3)
			assert.True(t, utf8.ValidString(got.Summary), "valid UTF-8: %q", got.Summary)
			assert.True(t, strings.HasSuffix(got.Summary, "…"), got.Summary)
			assert.LessOrEqual(t, len(got.Details), starter.MaxDetailsBytes)
			assert.True(t, utf8.ValidString(got.Details))
			assert.True(t, strings.HasSuffix(got.Details, "…"))
		}
	})

	t.Run("a hand-made deployment", func(t *testing.T) {
		got := starter.Describe(deployments.Deployment{Flows: flows.Registry.Flows(), Name: "bare"}, nil)
		assert.Equal(t, "bare", got.Summary)
		assert.Contains(t, got.Details, "**Flow:** DataPipeline on task queue local-process-pool")
		assert.Contains(t, got.Details, "**Parameters:**\n\n(none)")
	})
}
