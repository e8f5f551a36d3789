package source

import (
	"context"
	"hash/fnv"
	"io"
	"math/bits"
	"strconv"
	"time"

	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// The demo source generates records from (seed, index) alone, so any
// page can be regenerated on resume and the same seed always gives the same
// bytes: orders here, products in demoproducts.go (the URL's dataset,
// demo://orders or demo://products, picks the generator). It appends JSON by hand: a million records take a fraction of a
// second, which keeps the demo about orchestration, not about the generator.

// dirtyKind is the flaw, if any, of a synthetic record.
type dirtyKind uint8

const (
	clean             dirtyKind = iota
	dirtyEmailCase              // surrounding spaces, upper case: fixable, not rejected
	dirtyEmailInvalid           // not an address
	dirtyAmountNegative
	dirtyAmountNonNumeric
	dirtyCurrency
	dirtyTimestamp
	dirtyMissingField
	dirtyDuplicateID // repeats an earlier record's id
	dirtyNonObject   // a JSON value that is not an object
	numKinds
)

// dirtyPerMille is the share of dirty records: 3%.
const dirtyPerMille = 30

var (
	firstNames = []string{"olivia", "liam", "emma", "noah", "ava", "oliver", "sophia", "elijah", "mia", "lucas",
		"amelia", "mateo", "harper", "yuki", "aarav", "zoe", "leon", "ines", "kofi", "mei"}
	lastNames = []string{"smith", "garcia", "muller", "rossi", "tanaka", "nguyen", "kowalski", "silva", "dubois", "okafor",
		"jensen", "patel", "kim", "novak", "larsen", "costa", "ivanova", "murphy", "haddad", "berg"}
	domains    = []string{"example.com", "example.org", "example.net", "mail.example.com", "shop.example.org", "corp.example.net"}
	categories = []string{"electronics", "books", "clothing", "home", "garden", "toys",
		"sports", "beauty", "grocery", "automotive", "health", "office"}
	// currencies is weighted: USD is the most frequent.
	currencies = []string{"USD", "USD", "USD", "USD", "USD", "USD", "EUR", "EUR", "EUR", "EUR",
		"GBP", "GBP", "JPY", "CAD", "CAD", "AUD", "CHF", "SEK", "USD", "EUR"}

	badEmails      = []string{"olivia.smith.example.com", "liam@@example.com", "emma.garcia@", "not an email", ""}
	badAmounts     = []string{"N/A", "12,50", "twelve", "$19.99", ""}
	badCurrencies  = []string{"US", "EURO", "12$", "$", ""}
	badTimestamps  = []string{"2026-13-45T25:61:00Z", "yesterday", "03/04/2026 10:00", "2026-02-30T10:00:00Z", ""}
	nonObjects     = []string{`"ord-lost"`, `[1,2,3]`, `null`, `42`, `true`}
	demoFieldCount = 6
)

// start2026 is 2026-01-01T00:00:00Z; timestamps spread over that year.
var start2026 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// zones are the UTC offsets of the timestamps, UTC the most frequent.
var zones = func() []*time.Location {
	var zs []*time.Location
	for _, minutes := range []int{0, 0, 0, 60, 120, -300, -480, 330, 540, -180, 600, -240} {
		zs = append(zs, time.FixedZone("", minutes*60))
	}
	return zs
}()

// mix is the splitmix64 finalizer: a fast, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a splitmix64 generator: one per record, seeded from (seed, index).
type rng struct{ s uint64 }

func newRNG(seed, index uint64) rng {
	return rng{s: mix(mix(seed^0x5851f42d4c957f2d) ^ index)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// kindOf says which flaw, if any, record index has. The first record is
// always clean, so a duplicate always has an earlier id to repeat.
func kindOf(seed, index uint64) dirtyKind {
	h := mix(mix(seed^0x2545f4914f6cdd1d) ^ index)
	if index == 0 || h%1000 >= dirtyPerMille {
		return clean
	}
	return 1 + dirtyKind((h>>32)%uint64(numKinds-1))
}

// duplicateOf picks the earlier record whose id record index repeats: one
// of the previous thousand that has an id.
func duplicateOf(r *rng, seed, index uint64) uint64 {
	j := index - 1 - uint64(r.intn(int(min(index, 1000))))
	for j > 0 && (kindOf(seed, j) == dirtyNonObject || kindOf(seed, j) == dirtyMissingField) {
		j--
	}
	return j
}

// appendOrder appends the JSON of synthetic record index.
func appendOrder(b []byte, seed, index uint64) []byte {
	r := newRNG(seed, index)
	kind := kindOf(seed, index)
	if kind == dirtyNonObject {
		return append(b, nonObjects[r.intn(len(nonObjects))]...)
	}
	missing := -1 // position of the field left out: id, customer_email, category, amount, currency, timestamp
	if kind == dirtyMissingField {
		missing = r.intn(demoFieldCount)
	}
	b = append(b, '{')
	sep := false
	if missing != 0 {
		b = appendKey(b, &sep, "id")
		id := index
		if kind == dirtyDuplicateID {
			id = duplicateOf(&r, seed, index)
		}
		b = appendID(b, id+1)
	}

	if missing != 1 {
		b = appendKey(b, &sep, "customer_email")
		b = appendEmail(b, &r, kind)
	}

	category := categories[r.intn(len(categories))]
	if missing != 2 {
		b = appendKey(b, &sep, "category")
		b = append(b, '"')
		b = append(b, category...)
		b = append(b, '"')
	}

	currency := currencies[r.intn(len(currencies))]
	if missing != 3 {
		b = appendKey(b, &sep, "amount")
		b = appendAmount(b, &r, kind, currency == "JPY")
	}
	if missing != 4 {
		b = appendKey(b, &sep, "currency")
		if kind == dirtyCurrency {
			currency = badCurrencies[r.intn(len(badCurrencies))]
		}
		b = append(b, '"')
		b = append(b, currency...)
		b = append(b, '"')
	}

	if missing != 5 {
		b = appendKey(b, &sep, "timestamp")
		if kind == dirtyTimestamp {
			b = append(b, '"')
			b = append(b, badTimestamps[r.intn(len(badTimestamps))]...)
			b = append(b, '"')
		} else {
			b = appendTimestamp(b, &r)
		}
	}
	return append(b, '}')
}

// appendKey appends `"name":`, preceded by a comma unless it is the first.
func appendKey(b []byte, sep *bool, name string) []byte {
	if *sep {
		b = append(b, ',')
	}
	*sep = true
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendID(b []byte, id uint64) []byte {
	b = append(b, `"ord-`...)
	for n := uint64(100_000_000); n > id && n > 1; n /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendUint(b, id, 10)
	return append(b, '"')
}

func appendEmail(b []byte, r *rng, kind dirtyKind) []byte {
	first, last := firstNames[r.intn(len(firstNames))], lastNames[r.intn(len(lastNames))]
	domain := domains[r.intn(len(domains))]
	num := r.intn(100)
	b = append(b, '"')
	switch kind {
	case dirtyEmailInvalid:
		b = append(b, badEmails[r.intn(len(badEmails))]...)
		return append(b, '"')
	case dirtyEmailCase:
		b = append(b, "  "...)
	}
	start := len(b)
	b = append(b, first...)
	b = append(b, '.')
	b = append(b, last...)
	if num < 60 {
		b = strconv.AppendInt(b, int64(num), 10)
	}
	b = append(b, '@')
	b = append(b, domain...)
	if kind == dirtyEmailCase {
		for i := start; i < len(b); i++ {
			if c := b[i]; 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		b = append(b, ' ')
	}
	return append(b, '"')
}

// appendAmount writes a decimal with two places (whole yen for JPY), as a
// JSON string mostly and as a JSON number sometimes, as real feeds do.
func appendAmount(b []byte, r *rng, kind dirtyKind, wholeUnits bool) []byte {
	cents := int64(100 + r.intn(19_900))
	if r.intn(10) == 0 {
		cents += int64(r.intn(500_000))
	}
	asNumber := r.intn(7) == 0
	if kind == dirtyAmountNonNumeric {
		b = append(b, '"')
		b = append(b, badAmounts[r.intn(len(badAmounts))]...)
		return append(b, '"')
	}
	if !asNumber {
		b = append(b, '"')
	}
	if kind == dirtyAmountNegative {
		b = append(b, '-')
	}
	if wholeUnits {
		b = strconv.AppendInt(b, cents, 10)
	} else {
		b = strconv.AppendInt(b, cents/100, 10)
		b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	}
	if !asNumber {
		b = append(b, '"')
	}
	return b
}

// appendTimestamp writes an RFC 3339 time in 2026 at one of several UTC
// offsets; a zero offset is written as "Z" or as "+00:00".
func appendTimestamp(b []byte, r *rng) []byte {
	t := time.Unix(start2026+int64(r.intn(365*24*3600)), 0).In(zones[r.intn(len(zones))])
	layout := time.RFC3339
	if r.intn(2) == 0 {
		layout = "2006-01-02T15:04:05-07:00"
	}
	b = append(b, '"')
	b = t.AppendFormat(b, layout)
	return append(b, '"')
}

// demoGenerators append the JSON of record index of a demo dataset, by
// the dataset's name (sourceurl.DemoDatasets).
var demoGenerators = map[string]func(b []byte, seed, index uint64) []byte{
	"orders":   appendOrder,
	"products": appendProduct,
}

type demoReader struct {
	spec      sourceurl.Spec
	generate  func(b []byte, seed, index uint64) []byte
	pageSize  int
	next      uint64 // index of the next record
	remaining int64
	page      int // pages returned by this reader
	failAt    int // page at which the simulated outage strikes; -1 = none
}

func openDemo(spec sourceurl.Spec, cursor string, limit int64, attempt Attempt, cfg Config) (Reader, error) {
	generate, ok := demoGenerators[spec.Dataset]
	if !ok { // sourceurl.Parse refuses other datasets
		return nil, badSource(nil, "demo dataset %q does not exist", spec.Dataset)
	}
	d := &demoReader{spec: spec, generate: generate, pageSize: cfg.PageSize, remaining: max(limit, 0), failAt: -1}
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return nil, badSource(err, "cursor %q is not valid for a demo source", cursor)
		}
		d.next = n
	}
	if spec.FailureRate > 0 && meetsOutage(attempt) {
		h := mix(mix(spec.Seed^0x9e3779b97f4a7c15) ^ hashString(attempt.WorkflowID) ^ uint64(attempt.Number)*0xd1342543de82ef95)
		if float64(h>>11)/(1<<53) < spec.FailureRate {
			pages := (d.remaining-1)/int64(d.pageSize) + 1
			d.failAt = 0
			if pages > 1 { // let some pages through, so the retry resumes from a checkpoint
				d.failAt = 1 + int(mix(h)%uint64(pages-1))
			}
		}
	}
	return d, nil
}

// meetsOutage says whether an attempt may meet a simulated outage: never
// the last one, so that outages are transient by construction.
func meetsOutage(a Attempt) bool {
	if a.Max <= 0 {
		return a.Number <= 1
	}
	return a.Number < a.Max
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func (d *demoReader) Next(ctx context.Context) (Page, error) {
	if d.remaining <= 0 {
		return Page{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	if d.spec.FailAlways {
		return Page{}, transient(0, nil, "synthetic source unavailable (fail=always)")
	}
	if d.page == d.failAt {
		return Page{}, transient(0, nil, "synthetic source unavailable: simulated outage after %d pages", d.page)
	}
	if err := sleep(ctx, d.spec.Latency); err != nil {
		return Page{}, err
	}
	n := int(min(int64(d.pageSize), d.remaining))
	buf := make([]byte, 0, n*200)
	ends := make([]int, n)
	for i := range n {
		buf = d.generate(buf, d.spec.Seed, d.next+uint64(i))
		ends[i] = len(buf)
	}
	records := make([][]byte, n)
	start := 0
	for i, end := range ends {
		records[i] = buf[start:end:end]
		start = end
	}
	d.next += uint64(n)
	d.remaining -= int64(n)
	d.page++
	return Page{Records: records, Cursor: strconv.FormatUint(d.next, 10)}, nil
}

func (d *demoReader) Close() error { return nil }
