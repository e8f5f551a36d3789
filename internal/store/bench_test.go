package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// BenchmarkWriteOrders measures the upsert, the hot path of a load, in
// rows/s:
//
//	go test -run '^$' -bench WriteOrders ./internal/store/
//
// insert-5000 writes new rows a chunk at a time, unchanged-5000 writes the
// same chunk again (hash compare only), update-5000 changes every row of
// it, and insert-1M writes a million new rows in one transaction.
func BenchmarkWriteOrders(b *testing.B) {
	cases := []struct {
		name string
		rows int
		// prepare writes what must exist before the timed writes.
		prepare bool
		// change alternates the amount so every write is an update.
		change bool
		// fresh gives every iteration new IDs, so every write is an insert.
		fresh bool
	}{
		{name: "insert-5000", rows: 5000, fresh: true},
		{name: "unchanged-5000", rows: 5000, prepare: true},
		{name: "update-5000", rows: 5000, prepare: true, change: true},
		{name: "insert-1M", rows: 1_000_000, fresh: true},
	}
	for _, driver := range storetest.Drivers(b) {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/%s", driver, c.name), func(b *testing.B) {
				s := storetest.Open(b, driver)
				ctx := ctxT(b)
				base := makeOrders(0, c.rows)
				if c.prepare {
					_, err := s.WriteOrders(ctx, "bench", base)
					require.NoError(b, err)
				}
				cpu0, measured := processCPU()
				b.ResetTimer()
				for i := range b.N {
					orders := base
					switch {
					case c.fresh && i > 0:
						b.StopTimer()
						orders = makeOrders(i*c.rows, c.rows)
						b.StartTimer()
					case c.change:
						b.StopTimer()
						orders = withAmount(base, fmt.Sprintf("%d.5", i))
						b.StartTimer()
					}
					res, err := s.WriteOrders(ctx, "bench", orders)
					if err != nil {
						b.Fatal(err)
					}
					if got := res.Inserted + res.Updated + res.Unchanged; got != int64(c.rows) {
						b.Fatalf("counted %d rows, wrote %d", got, c.rows)
					}
					want := store.Loaded{Unchanged: int64(c.rows)}
					if c.fresh {
						want = store.Loaded{Inserted: int64(c.rows)}
					} else if c.change {
						want = store.Loaded{Updated: int64(c.rows)}
					}
					if res != want {
						b.Fatalf("got %+v, want %+v", res, want)
					}
				}
				b.ReportMetric(float64(b.N*c.rows)/b.Elapsed().Seconds(), "rows/s")
				// CPU time is steadier than wall time on a busy machine;
				// it counts this process only (not a PostgreSQL server).
				if cpu1, _ := processCPU(); measured {
					b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N*c.rows), "cpu-ns/row")
				}
			})
		}
	}
}

// benchDatasetDef is a dataset of 10 fields of every type, for
// BenchmarkWriteDataset.
func benchDatasetDef() dataset.Definition {
	return withField(productsDef(), dataset.Field{Name: "category", Type: dataset.String, OneOf: []string{"books", "garden", "toys", "food"}})
}

// benchDatasetRows returns n distinct rows of benchDatasetDef, keys
// first..first+n-1; variant changes every row's price and hash.
func benchDatasetRows(first, n, variant int) []dataset.Row {
	rows := make([]dataset.Row, n)
	for i := range rows {
		k := first + i
		key := fmt.Sprintf("sku-%07d", k)
		rows[i] = dataset.Row{
			Key: key,
			Values: []dataset.Value{key, fmt.Sprintf("Product %d", k), fmt.Sprintf("%d.%02d", k%500+variant, k%100),
				int64(k % 1000), k%2 == 0, baseTime.Add(time.Duration(k) * time.Second), "2024-01-31",
				fmt.Sprintf("customer%d@example.com", k%1000), `{"color":"red","size":3}`, []string{"books", "garden", "toys", "food"}[k%4]},
			// Any value that differs between variants: the normaliser's
			// hash is not what is measured.
			Hash: int64(k)<<20 | int64(variant),
		}
	}
	return rows
}

// BenchmarkWriteDataset measures the upsert of a user's dataset (10
// fields of every type) as BenchmarkWriteOrders does the orders upsert,
// on the same numbers of rows, to compare their rows/s:
//
//	go test -run '^$' -bench 'Write(Orders|Dataset)/.*/.*-5000' ./internal/store/
func BenchmarkWriteDataset(b *testing.B) {
	cases := []struct {
		name    string
		rows    int
		prepare bool
		change  bool
		fresh   bool
	}{
		{name: "insert-5000", rows: 5000, fresh: true},
		{name: "unchanged-5000", rows: 5000, prepare: true},
		{name: "update-5000", rows: 5000, prepare: true, change: true},
	}
	def := benchDatasetDef()
	for _, driver := range storetest.Drivers(b) {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/%s", driver, c.name), func(b *testing.B) {
				s := storetest.Open(b, driver)
				ctx := ctxT(b)
				_, err := s.EnsureDataset(ctx, def)
				require.NoError(b, err)
				base := benchDatasetRows(0, c.rows, 0)
				if c.prepare {
					_, err := s.WriteDataset(ctx, def, "bench", base)
					require.NoError(b, err)
				}
				cpu0, measured := processCPU()
				b.ResetTimer()
				for i := range b.N {
					rows := base
					switch {
					case c.fresh && i > 0:
						b.StopTimer()
						rows = benchDatasetRows(i*c.rows, c.rows, 0)
						b.StartTimer()
					case c.change:
						b.StopTimer()
						rows = benchDatasetRows(0, c.rows, i+1)
						b.StartTimer()
					}
					res, err := s.WriteDataset(ctx, def, "bench", rows)
					if err != nil {
						b.Fatal(err)
					}
					want := store.Loaded{Unchanged: int64(c.rows)}
					if c.fresh {
						want = store.Loaded{Inserted: int64(c.rows)}
					} else if c.change {
						want = store.Loaded{Updated: int64(c.rows)}
					}
					if res != want {
						b.Fatalf("got %+v, want %+v", res, want)
					}
				}
				b.ReportMetric(float64(b.N*c.rows)/b.Elapsed().Seconds(), "rows/s")
				if cpu1, _ := processCPU(); measured {
					b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N*c.rows), "cpu-ns/row")
				}
			})
		}
	}
}
