package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// captureLogger keeps the activity's log lines.
type captureLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *captureLogger) log(level, msg string, kv ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(kv...))
}
func (l *captureLogger) Debug(msg string, kv ...any) { l.log("DEBUG", msg, kv...) }
func (l *captureLogger) Info(msg string, kv ...any)  { l.log("INFO", msg, kv...) }
func (l *captureLogger) Warn(msg string, kv ...any)  { l.log("WARN", msg, kv...) }
func (l *captureLogger) Error(msg string, kv ...any) { l.log("ERROR", msg, kv...) }

func (l *captureLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestExtractNamedSource runs Extract on a named source from the workflow
// input: its auth comes from the worker's environment, its records are
// staged mapped, and a mapped field no record of the first page has is
// reported in the run's log, once.
func TestExtractNamedSource(t *testing.T) {
	const token = "t0ken-value"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("after") == "" {
			fmt.Fprint(w, `{"data":{"orders":[{"order_id":"A-1","buyer":{"mail":"a@example.com"}}]},"meta":{"next":"c1"}}`)
			return
		}
		fmt.Fprint(w, `{"data":{"orders":[{"order_id":"A-2","buyer":{"mail":"b@example.com"}}]},"meta":{"next":null}}`)
	}))
	t.Cleanup(api.Close)

	st := storetest.Open(t, "sqlite")
	a := &Activities{Store: st, ChunkRecords: 1,
		Sources: source.Config{LookupEnv: func(k string) (string, bool) { return token, k == "SHOP_TOKEN" }}}
	logs := &captureLogger{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(logs)
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	def := &restapi.Definition{Name: "shop", URL: api.URL + "/orders", Records: "data.orders",
		Paginate: restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "after", Next: "meta.next"},
		Fields:   map[string]string{"id": "order_id", "customer_email": "buyer.mail", "amount": "total"},
		Auth:     restapi.Auth{BearerEnv: "SHOP_TOKEN"}}
	run := runinfo.RunRef{WorkflowID: "named-" + t.Name(), RunID: "r1"}
	in := datapipeline.ExtractInput{Run: run, Params: datapipeline.Params{BatchSize: 10, SourceURL: "source:shop", Source: def}, StartedAt: time.Now()}
	val, err := env.ExecuteActivity(a.Extract, in)
	require.NoError(t, err)
	var res datapipeline.ExtractResult
	require.NoError(t, val.Get(&res))
	require.EqualValues(t, 2, res.Records)
	require.Equal(t, api.URL+"/orders", res.Source, "a named source's records are keyed by its URL")

	var staged []string
	for seq := range res.Chunks {
		b, err := st.ReadChunk(context.Background(), run, runinfo.StageExtract, seq)
		require.NoError(t, err)
		staged = append(staged, strings.TrimSpace(string(b)))
	}
	require.Equal(t, []string{`{"id":"A-1","customer_email":"a@example.com"}`, `{"id":"A-2","customer_email":"b@example.com"}`}, staged)

	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "field mapping: amount is mapped from total, which none of the 1 records of the first page has"), out)
	require.NotContains(t, out, token)
}
