package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

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
