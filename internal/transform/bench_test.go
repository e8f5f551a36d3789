package transform

import (
	"encoding/json"
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
		if _, nValid, _ := Chunk(data, NewDeduper()); nValid == 0 {
			b.Fatal("no valid records")
		}
		iterations++
	}
	b.ReportMetric(float64(iterations*n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEncode compares AppendOrder with encoding/json.
func BenchmarkEncode(b *testing.B) {
	o, reason, _ := Normalize([]byte(`{"id":"ord-1","customer_email":"a@b.co","category":"books","amount":"12.5","currency":"EUR","timestamp":"2024-03-01T10:00:00.123Z"}`))
	if reason != "" {
		b.Fatal(reason)
	}
	b.Run("AppendOrder", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = AppendOrder(buf[:0], o)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeOrders measures reading clean records back for Load.
func BenchmarkDecodeOrders(b *testing.B) {
	const n = 10_000
	clean, nValid, _ := Chunk(benchChunk(n), NewDeduper())
	var dst []record.Order
	b.SetBytes(int64(len(clean)))
	b.ReportAllocs()
	iterations := 0
	for b.Loop() {
		var err error
		if dst, err = DecodeOrders(clean, dst); err != nil {
			b.Fatal(err)
		}
		iterations++
	}
	b.ReportMetric(float64(iterations*nValid)/b.Elapsed().Seconds(), "records/s")
}
