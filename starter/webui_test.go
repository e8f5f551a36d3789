package starter_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/webui"
	"github.com/blueprint-etl/blueprint/starter"
)

// TestWebUIShowsWhatARunIs opens the dev server's Web UI in headless
// Chromium. The run's page (its User Metadata tab) shows exactly the
// summary and details blueprint started it with, and its history the
// summary on the start event. The workflows list shows the run under its
// workflow ID and flow: the dev server's list API (Server 1.29) returns no
// user metadata, so no Web UI version can show the summary there yet.
func TestWebUIShowsWhatARunIs(t *testing.T) {
	testutil.RequireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{UI: true})
	require.NoError(t, err)
	c := srv.Client()
	t.Cleanup(func() {
		c.Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
	})

	m, err := deployments.Parse(flows.Registry.Flows(), "ui.yaml", []byte(`deployments:
  - name: ui-check
    description: Nightly copy of the shop's orders, checked in a browser.
    tags: [ui]
    parameters:
      batch_size: 4321
      source_url: demo://orders?seed=42
`))
	require.NoError(t, err)
	s, err := starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "ui-check", WorkflowID: testutil.UniqueID("ui-check")})
	require.NoError(t, err)
	d, err := m.Get("ui-check")
	require.NoError(t, err)
	want := starter.Describe(d, s.Params)
	require.Equal(t, "ui-check · batch_size=4321 · source_url=demo://orders?seed=42", want.Summary)
	// No worker runs it. A closed run's page loads at once; an open one
	// long-polls its history, which holds headless Chromium's virtual time.
	require.NoError(t, c.TerminateWorkflow(ctx, s.WorkflowID, s.RunID, "checked in the Web UI"))

	base := fmt.Sprintf("http://127.0.0.1:%d", srv.UIPort())
	waitHTTP(ctx, t, base)
	t.Setenv(webui.EnvURL, base)
	run := strings.TrimSuffix(starter.UILink(namespace, s.WorkflowID, s.RunID), "/history")

	// The User Metadata tab renders each Markdown text in an iframe whose
	// address carries it: the texts shown are blueprint's, unchanged.
	meta := dumpDOM(ctx, t, run+"/user-metadata", "/render?content=")
	shown := rendered(t, meta) // summary, details, current details
	require.GreaterOrEqual(t, len(shown), 2, "no summary and details in the DOM: %s", lastLines(text(meta), 3))
	assert.Equal(t, []string{want.Summary, want.Details}, shown[:2], "the run's page shows the summary, then the details")
	assert.Contains(t, want.Details, "Nightly copy of the shop's orders, checked in a browser.")

	history := text(dumpDOM(ctx, t, run+"/history", want.Summary))
	assert.Contains(t, history, "Workflow Execution Started Workflow Type Name DataPipeline Summary "+want.Summary, "the start event shows the summary")

	list := text(dumpDOM(ctx, t, base+"/namespaces/"+namespace+"/workflows", s.WorkflowID))
	assert.Contains(t, list, "Terminated "+s.WorkflowID+" "+s.RunID+" DataPipeline", "the workflows list shows the run, its deployment in its ID, and its flow")
}

// rendered returns the Markdown texts of the /render iframes of a page, in
// order.
func rendered(t *testing.T, dom string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`<iframe[^>]*src="/render\?([^"]*)"`).FindAllStringSubmatch(dom, -1) {
		q, err := url.ParseQuery(html.UnescapeString(m[1]))
		require.NoError(t, err)
		out = append(out, q.Get("content"))
	}
	return out
}

// text is a page's visible text on one line: tags, scripts and styles
// removed, white space collapsed.
func text(dom string) string {
	dom = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(dom, " ")
	return strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(dom, " "))), " ")
}

// dumpDOM loads url in headless Chromium until want is in its DOM: the UI
// fetches its data after the first paint, so a slow machine gets a second
// try with a longer virtual time budget.
func dumpDOM(ctx context.Context, t *testing.T, url, want string) string {
	t.Helper()
	var dom string
	for _, budget := range []time.Duration{15 * time.Second, 30 * time.Second} {
		if dom = testutil.DumpDOM(ctx, t, url, budget); strings.Contains(dom, want) {
			return dom
		}
	}
	t.Logf("%s never showed %q; its DOM ends with: %s", url, want, lastLines(dom, 20))
	return dom
}

// waitHTTP waits until the Web UI answers.
func waitHTTP(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		select {
		case <-ctx.Done():
			require.NoError(t, errors.Join(ctx.Err(), err), "the Web UI at %s never answered", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
