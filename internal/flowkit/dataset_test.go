package flowkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flowkit"
	"github.com/blueprint-etl/blueprint/internal/flowkit/kittest"
)

// The user-style flow of these tests loads a declared dataset from a
// paginated API through the kit, as docs/flows.md shows: one activity that
// loads each page as a chunk, then heartbeats how far it got.

type catalogParams struct {
	SourceURL         string                     `json:"source_url" validate:"required,source_url_length,source_url"`
	Dataset           string                     `json:"dataset" validate:"required,dataset"`
	Source            *flowkit.SourceDefinition  `json:"source,omitempty" param:"-"`
	DatasetDefinition *flowkit.DatasetDefinition `json:"dataset_definition,omitempty" param:"-"`
}

func catalogSync(ctx workflow.Context, p catalogParams) (t flowkit.DatasetTotals, err error) {
	ctx = flowkit.WithActivity(ctx, "Load the catalogue", time.Minute)
	err = workflow.ExecuteActivity(ctx, "LoadCatalog", p).Get(ctx, &t)
	return t, err
}

type catalogActivities struct {
	flowkit.Deps
	// crash, when set, is called after chunk seq is loaded and before
	// its heartbeat: an error there is an attempt that dies in between.
	crash func(seq int) error
}

func (a *catalogActivities) LoadCatalog(ctx context.Context, p catalogParams) (flowkit.DatasetTotals, error) {
	var at struct {
		Seq    int
		Cursor string
		Totals flowkit.DatasetTotals
	}
	flowkit.Resume(ctx, &at)
	ds, err := flowkit.OpenDataset(ctx, a.Deps, p.Dataset, p.DatasetDefinition, p.SourceURL, p.Source)
	if err != nil {
		return at.Totals, err
	}
	src, err := flowkit.OpenSource(ctx, a.Deps, p.SourceURL, p.Source, flowkit.ReadOptions{Cursor: at.Cursor, Fields: ds.Fields()})
	if err != nil {
		return at.Totals, err
	}
	defer src.Close()
	for {
		page, err := src.Next(ctx)
		if err == io.EOF {
			return at.Totals, nil
		} else if err != nil {
			return at.Totals, err
		}
		if at.Totals, err = ds.Load(ctx, at.Seq, page.Records); err != nil {
			return at.Totals, err
		}
		if a.crash != nil {
			if err := a.crash(at.Seq); err != nil {
				return at.Totals, err
			}
		}
		at.Seq, at.Cursor = at.Seq+1, page.Cursor
		flowkit.Heartbeat(ctx, at)
	}
}

func catalogFlow(crash func(int) error) flowkit.Flow {
	return flowkit.Flow{
		Flow: flowkit.New("CatalogSync", catalogSync, flowkit.Options{Description: "Load a catalogue into its dataset"}),
		Activities: func(d flowkit.Deps) []flowkit.Activity {
			return []flowkit.Activity{{Name: "LoadCatalog", Func: (&catalogActivities{Deps: d, crash: crash}).LoadCatalog}}
		},
	}
}

var catalogDataset = dataset.Definition{
	Name: "catalog",
	Key:  []string{"sku"},
	Fields: []dataset.Field{
		{Name: "sku", Type: dataset.String, Required: true, MaxLength: 16},
		{Name: "title", Type: dataset.String, Required: true},
		{Name: "price", Type: dataset.Decimal, Precision: 10, Scale: 2, Min: "0"},
		{Name: "stock", Type: dataset.Integer, Min: "0"},
	},
}

// catalogAPI serves three pages, the next page's URL in each body, and
// counts the requests of each page.
type catalogAPI struct {
	mu    sync.Mutex
	asked map[int]int
}

func (c *catalogAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page == 0 {
		page = 1
	}
	c.mu.Lock()
	c.asked[page]++
	c.mu.Unlock()
	records := map[int]string{
		1: `{"sku":"A-1","title":"Lamp","price":"19.90","stock":3},{"sku":"B-2","title":"Desk","price":120}`,
		2: `{"sku":"C-3","title":"Chair","price":-5},{"sku":"D-4","title":"Shelf","price":80,"stock":1}`,
		3: `{"sku":"E-5","title":"Rug","price":45.5},{"sku":"F-6","title":"Vase"}`,
	}[page]
	next := "null"
	if page < 3 {
		next = fmt.Sprintf(`"http://%s/catalog?page=%d"`, r.Host, page+1)
	}
	fmt.Fprintf(w, `{"data": [%s], "next": %s}`, records, next)
}

func (c *catalogAPI) requests() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for k, v := range c.asked {
		out[k] = v
	}
	return out
}

// TestAUserFlowLoadsADataset: a flow written with the kit loads a
// declared dataset with DataPipeline's guarantees, on each warehouse:
// typed rows, each record loaded or rejected by field and rule, an
// attempt that dies between a commit and its heartbeat resumed without
// counting or writing anything twice, and a second run that inserts
// nothing.
func TestAUserFlowLoadsADataset(t *testing.T) {
	for driver, st := range kittest.Warehouses(t) {
		t.Run(driver, func(t *testing.T) {
			api := &catalogAPI{asked: map[int]int{}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			def := catalogDataset
			params := catalogParams{SourceURL: srv.URL + "/catalog", Dataset: "catalog", DatasetDefinition: &def}
			run := func(id string, crash func(int) error) flowkit.DatasetTotals {
				env := kittest.Env(t, catalogFlow(crash), st)
				env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
				env.ExecuteWorkflow("CatalogSync", params)
				require.NoError(t, env.GetWorkflowError())
				var got flowkit.DatasetTotals
				require.NoError(t, env.GetWorkflowResult(&got))
				return got
			}

			crashed := false
			first := run("catalog-1", func(seq int) error {
				if seq == 1 && !crashed {
					crashed = true
					return errors.New("the worker died after committing chunk 1")
				}
				return nil
			})
			assert.True(t, crashed)
			assert.Equal(t, flowkit.DatasetTotals{Dataset: "catalog", Records: 6, Inserted: 5, Rejected: 1,
				Reasons: map[string]int64{"price.min": 1}}, first)
			assert.Equal(t, map[int]int{1: 1, 2: 2, 3: 1}, api.requests(),
				"the retry resumed after chunk 0's heartbeat: page 1 was not read again")

			var (
				price, lastRun string
				stock          int64
			)
			require.NoError(t, st.QueryRow(context.Background(), `SELECT CAST(price AS TEXT), stock, _last_run FROM catalog WHERE sku = 'A-1'`).Scan(&price, &stock, &lastRun))
			assert.Contains(t, []string{"19.9", "19.90"}, price)
			assert.Equal(t, int64(3), stock)
			assert.Equal(t, "catalog-1/", lastRun[:len("catalog-1/")], "a row records the run that wrote it")
			var n int
			require.NoError(t, st.QueryRow(context.Background(), `SELECT count(*) FROM catalog`).Scan(&n))
			assert.Equal(t, 5, n)

			second := run("catalog-2", nil)
			assert.Equal(t, flowkit.DatasetTotals{Dataset: "catalog", Records: 6, Unchanged: 5, Rejected: 1,
				Reasons: map[string]int64{"price.min": 1}}, second, "a second identical run inserts nothing")
		})
	}
}
