package flowstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flowkit"
)

// CatalogParams are the parameters of CatalogSync, a user-style flow that
// loads a dataset from a paginated API through the flow kit, as
// docs/flows.md ("Datasets in your own flow") shows: one activity that
// loads each page as a chunk, then heartbeats how far it got.
type CatalogParams struct {
	SourceURL         string                     `json:"source_url" validate:"required,source_url_length,source_url"`
	Dataset           string                     `json:"dataset" validate:"required,dataset"`
	Source            *flowkit.SourceDefinition  `json:"source,omitempty" param:"-"`
	DatasetDefinition *flowkit.DatasetDefinition `json:"dataset_definition,omitempty" param:"-"`
}

func catalogSync(ctx workflow.Context, p CatalogParams) (t flowkit.DatasetTotals, err error) {
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

func (a *catalogActivities) LoadCatalog(ctx context.Context, p CatalogParams) (flowkit.DatasetTotals, error) {
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

// Catalog is the user-style flow, CatalogSync, with its activity
// LoadCatalog; crash, when set, is called after each chunk's commit and
// before its heartbeat (an error there is an attempt that dies in
// between).
func Catalog(crash func(seq int) error) flowkit.Flow {
	return flowkit.Flow{
		Flow: flowkit.New("CatalogSync", catalogSync, flowkit.Options{Description: "Load a catalogue into its dataset"}),
		Activities: func(d flowkit.Deps) []flowkit.Activity {
			return []flowkit.Activity{{Name: "LoadCatalog", Func: (&catalogActivities{Deps: d, crash: crash}).LoadCatalog}}
		},
	}
}

// CatalogDataset is the dataset CatalogSync loads in the tests.
var CatalogDataset = dataset.Definition{
	Name: "catalog",
	Key:  []string{"sku"},
	Fields: []dataset.Field{
		{Name: "sku", Type: dataset.String, Required: true, MaxLength: 16},
		{Name: "title", Type: dataset.String, Required: true},
		{Name: "price", Type: dataset.Decimal, Precision: 10, Scale: 2, Min: "0"},
		{Name: "stock", Type: dataset.Integer, Min: "0"},
	},
}

// CatalogAPI serves three pages, the next page's URL in each body, and
// counts the requests of each page.
type CatalogAPI struct {
	mu    sync.Mutex
	asked map[int]int
}

func (c *CatalogAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page == 0 {
		page = 1
	}
	c.mu.Lock()
	if c.asked == nil {
		c.asked = map[int]int{}
	}
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

// Requests counts the requests of each page so far.
func (c *CatalogAPI) Requests() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for k, v := range c.asked {
		out[k] = v
	}
	return out
}
