package dataset

import (
	"fmt"
	"testing"
)

// benchRecords builds n raw products records (10 fields, as the manifest's
// example), mostly valid, with a few defects and an undeclared member.
func benchRecords(n int) [][]byte {
	tiers := []string{"free", "pro", "enterprise"}
	records := make([][]byte, 0, n)
	for i := range n {
		price := fmt.Sprintf(`"%d.%02d"`, i%5000, i%100)
		if i%3 == 0 {
			price = fmt.Sprintf(`%d.%d`, i%700, i%10)
		}
		stock := fmt.Sprint(i % 1000)
		switch i % 50 {
		case 11:
			stock = "-3"
		case 13:
			price = `"1.234"`
		}
		records = append(records, fmt.Appendf(nil,
			`{"sku":"SKU-%08d","title":"Product number %d","price":%s,"stock":%s,"active":%t,`+
				`"updated_at":"2024-%02d-%02dT%02d:%02d:%02d+02:00","launched":"2023-%02d-%02d",`+
				`"email":" User%d@Example.COM ","tier":%q,"attrs":{"color":"red","sizes":[1,2,3]},"note":"gift wrap"}`,
			i, i, price, stock, i%2 == 0, 1+i%12, 1+i%28, i%24, i%60, i%60, 1+i%12, 1+i%28, i%1000, tiers[i%3]))
	}
	return records
}

// BenchmarkNormalize measures Rules.Normalize per core on 10-field
// records; compare with transform's BenchmarkOrders (6 fields).
func BenchmarkNormalize(b *testing.B) {
	const n = 10_000
	records := benchRecords(n)
	r := compileProducts(b, nil)
	size := 0
	for _, rec := range records {
		size += len(rec) + 1
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	iterations := 0
	valid := 0
	for b.Loop() {
		valid = 0
		for _, rec := range records {
			if _, reason, _ := r.Normalize(rec); reason == "" {
				valid++
			}
		}
		iterations++
	}
	if valid == 0 || valid == n {
		b.Fatalf("%d of %d valid: the mix is wrong", valid, n)
	}
	b.ReportMetric(float64(iterations*n)/b.Elapsed().Seconds(), "records/s")
}
