package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// datasetOutput is the part of a dataset's JSON the tests read.
type datasetOutput struct {
	Name    string          `json:"name"`
	Builtin bool            `json:"builtin"`
	Exists  bool            `json:"exists"`
	Rows    int64           `json:"rows"`
	Matches bool            `json:"matches"`
	State   string          `json:"state"`
	Change  *dataset.Change `json:"change"`
	Refused string          `json:"refused"`
	Fields  []dataset.Field `json:"fields"`
}

// productsWarehouse makes a SQLite warehouse whose products table was
// made for productsManifest's definition and holds two rows.
func productsWarehouse(t *testing.T) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "warehouse.db")
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(productsManifest+manifestOf(deployment("d", "q", "{}", ""))))
	require.NoError(t, err)
	def := m.Datasets["products"]
	st, err := store.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.EnsureDataset(context.Background(), def)
	require.NoError(t, err)
	rules, err := dataset.Compile(def)
	require.NoError(t, err)
	var rows []dataset.Row
	for _, raw := range []string{`{"sku":"A1","title":"Mug","price":"12.50"}`, `{"sku":"A2","title":"Cup"}`} {
		row, reason, detail := rules.Normalize([]byte(raw))
		require.Empty(t, reason, detail)
		rows = append(rows, row)
	}
	_, err = st.WriteDataset(context.Background(), def, "test", rows)
	require.NoError(t, err)
	return dsn
}

func datasetsJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.String())
	return v
}

// TestDatasetsLsInspect: the datasets and their tables, with no
// warehouse yet, then one whose table matches the manifest, differs from
// it (a field added) or cannot follow it (a type changed).
func TestDatasetsLsInspect(t *testing.T) {
	deps := manifestOf(deployment("d", "q", "{}", ""))
	path := writeManifest(t, productsManifest+deps)
	none := "sqlite:" + filepath.Join(t.TempDir(), "none.db")

	r := ok(t, "-f", path, "datasets", "ls", "--database-url", none)
	assert.Regexp(t, `(?m)^orders \(built in\)\s+6\s+id\s+orders\s+-\s+table not created yet$`, r.stdout)
	assert.Regexp(t, `(?m)^products\s+10\s+sku\s+products\s+-\s+table not created yet$`, r.stdout)
	r = ok(t, "-f", path, "datasets", "inspect", "products", "--database-url", none)
	assert.Contains(t, r.stdout, "Rows:              none: no warehouse yet, table not created yet\n")
	assert.Regexp(t, `(?m)^  price\s+decimal\(12,2\)\s+no\s+price\s+min 0$`, r.stdout)
	assert.Regexp(t, `(?m)^  tier\s+string\s+no\s+tier\s+one_of free\|pro\|enterprise$`, r.stdout)

	dsn := productsWarehouse(t)
	views := datasetsJSON[[]datasetOutput](t, ok(t, "-f", path, "datasets", "ls", "--database-url", dsn, "-o", "json"))
	require.Len(t, views, 2)
	assert.Equal(t, "orders", views[0].Name)
	assert.True(t, views[0].Builtin)
	assert.True(t, views[0].Exists, "the migrations make it")
	p := views[1]
	assert.Equal(t, "products", p.Name)
	assert.True(t, p.Exists)
	assert.EqualValues(t, 2, p.Rows)
	assert.True(t, p.Matches)
	assert.Equal(t, "matches", p.State)
	r = ok(t, "-f", path, "datasets", "ls", "--database-url", dsn)
	assert.Regexp(t, `(?m)^products\s+10\s+sku\s+products\s+2\s+matches$`, r.stdout)

	// A field added: the table differs, and the next load adds the column.
	added := writeManifest(t, productsManifest+"      color: {type: string}\n"+deps)
	v := datasetsJSON[datasetOutput](t, ok(t, "-f", added, "datasets", "inspect", "products", "--database-url", dsn, "-o", "json"))
	assert.Equal(t, "differs", v.State)
	require.NotNil(t, v.Change)
	require.Len(t, v.Change.Added, 1)
	assert.Equal(t, "color", v.Change.Added[0].Name)
	r = ok(t, "-f", added, "datasets", "inspect", "products", "--database-url", dsn)
	assert.Contains(t, r.stdout, "Matches manifest:  no: the next load would add color string\n")
	assert.Contains(t, r.stdout, "Rows:              2\n")

	// A type changed: refused, naming the column and both types.
	changed := writeManifest(t, strings.Replace(productsManifest, "price:      {type: decimal, precision: 12, scale: 2, min: 0}", "price:      {type: integer}", 1)+deps)
	v = datasetsJSON[datasetOutput](t, ok(t, "-f", changed, "datasets", "inspect", "products", "--database-url", dsn, "-o", "json"))
	assert.Equal(t, "refused", v.State)
	assert.Contains(t, v.Refused, `column "price": decimal(12,2) -> integer: a changed type would lose data`)
	r = ok(t, "-f", changed, "datasets", "ls", "--database-url", dsn)
	assert.Regexp(t, `(?m)^products\s+10\s+sku\s+products\s+2\s+refused$`, r.stdout)

	// A dataset the manifest no longer declares is still listed.
	r = ok(t, "-f", writeManifest(t, deps), "datasets", "ls", "--database-url", dsn)
	assert.Regexp(t, `(?m)^products\s+10\s+sku\s+products\s+2\s+not in the manifest$`, r.stdout)

	r = blueprint(t, "-f", path, "datasets", "inspect", "prodcts", "--database-url", dsn)
	assert.Equal(t, 2, r.code, r.String())
	assert.Equal(t, "blueprint: unknown dataset \"prodcts\" (datasets: orders, products); did you mean \"products\"?\n", r.stderr)
}

// TestDeployRunRefuseDatasetChange: deploy and run check the table of a
// declared dataset first; a definition it cannot follow exits 2 in one
// line naming the column and both types, and nothing is deployed or
// started. A definition it can follow (a field added) goes ahead.
func TestDeployRunRefuseDatasetChange(t *testing.T) {
	dsn := productsWarehouse(t)
	name := "ds-" + strings.ToLower(testutil.UniqueID("refuse"))
	cleanupSchedule(t, name)
	deps := manifestOf(deployment(name, "q-"+name, "{dataset: products}", "      interval: 1h\n"))
	changed := writeManifest(t, strings.Replace(productsManifest, "price:      {type: decimal, precision: 12, scale: 2, min: 0}", "price:      {type: integer}", 1)+deps)
	const refusal = `dataset "products": the warehouse's table cannot hold the manifest's definition: column "price": decimal(12,2) -> integer: a changed type would lose data`

	r := blueprint(t, "-f", changed, "deploy", "--database-url", dsn)
	assert.Equal(t, 2, r.code, r.String())
	assert.Equal(t, "blueprint: deploy: "+refusal+"; nothing was deployed\n", r.stderr)
	assert.Nil(t, scheduleDescription(t, name), "nothing deployed")

	id := testutil.UniqueID("ds-refuse")
	r = blueprint(t, "-f", changed, "run", name, "--id", id, "--database-url", dsn)
	assert.Equal(t, 2, r.code, r.String())
	assert.Equal(t, "blueprint: run "+name+": "+refusal+"; nothing was started\n", r.stderr)
	notStarted(t, id)

	// Another warehouse, or none: nothing to refuse.
	r = ok(t, "-f", changed, "deploy", "--dry-run", "--database-url", "sqlite:"+filepath.Join(t.TempDir(), "none.db"))
	assert.Contains(t, r.stdout, name)

	added := writeManifest(t, productsManifest+"      color: {type: string}\n"+deps)
	ok(t, "-f", added, "deploy", "--database-url", dsn)
	assert.NotNil(t, scheduleDescription(t, name), "a change the table can follow is deployed")
}
