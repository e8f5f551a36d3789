package transform

import (
	"fmt"
	"testing"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// benchChunk builds n raw records shaped like the demo source's: mostly
// valid, with a few of each kind of defect and some extra fields.
func benchChunk(n int) []byte {
	var b []byte
	categories := []string{"Books", " electronics ", "GARDEN", "toys"}
	for i := range n {
		amount := fmt.Sprintf(`"%d.%02d"`, i%5000, i%100)
		if i%3 == 0 {
			amount = fmt.Sprintf(`%d.%d`, i%700, i%10)
		}
		ts := fmt.Sprintf(`"2024-%02d-%02dT%02d:%02d:%02d+02:00"`, 1+i%12, 1+i%28, i%24, i%60, i%60)
		if i%4 == 0 {
			ts = fmt.Sprintf(`%d`, 1700000000+i)
		}
		id := fmt.Sprintf(`"ord-%08d"`, i)
		switch i % 50 {
		case 7:
			id = fmt.Sprintf(`"ord-%08d"`, i-1) // duplicate
		case 11:
			amount = `"-3.50"`
		case 13:
			b = append(b, `{"id": "broken", `...)
			b = append(b, '\n')
			continue
		}
		b = fmt.Appendf(b, `{"id":%s,"customer_email":" User%d@Example.COM ","category":%q,"amount":%s,"currency":"eur","timestamp":%s,"note":"gift wrap","tags":["a","b"]}`+"\n",
			id, i%1000, categories[i%len(categories)], amount, ts)
	}
	return b
}

// BenchmarkChunk measures the transform rules end to end, per core.
func BenchmarkChunk(b *testing.B) {
	const n = 10_000
	data := benchChunk(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	iterations := 0
	for b.Loop() {
		if valid, _ := Chunk(data, NewDeduper()); len(valid) == 0 {
			b.Fatal("no valid records")
		}
		iterations++
	}
	b.ReportMetric(float64(iterations*n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkOrders measures Load reading a raw chunk again.
func BenchmarkOrders(b *testing.B) {
	const n = 10_000
	data := benchChunk(n)
	valid, rejects := Chunk(data, NewDeduper())
	var rejected []int
	for _, r := range rejects {
		rejected = append(rejected, r.Index)
	}
	var dst []record.Order
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	iterations := 0
	for b.Loop() {
		var err error
		if dst, err = Orders(data, rejected, dst); err != nil {
			b.Fatal(err)
		}
		iterations++
	}
	b.ReportMetric(float64(iterations*len(valid))/b.Elapsed().Seconds(), "records/s")
}
