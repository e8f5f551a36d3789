package source

import (
	"strconv"
	"time"
)

// demo://products generates a product catalogue the way demo://orders
// generates orders: each record from (seed, index) alone, JSON appended by
// hand. Its records are the ten fields of the products dataset of the
// docs and of the bench (internal/testutil.Products), named as the dataset
// names them, so a run loads them without a fields: mapping. A share of
// them break one rule each (productFlaw), so that every kind of the
// dataset's rules has rejects to show.

// productFlaw is the flaw, if any, of a synthetic product. A flawed
// record breaks exactly one rule, and Normalize's first check in field
// order is that rule's: the reason a run gives it is the flaw's.
type productFlaw uint8

const (
	productClean         productFlaw = iota
	productSKUMissing                // sku.required
	productSKUTooLong                // sku.max_length (over 64 characters)
	productTitleNull                 // title.required (null)
	productPriceNegative             // price.min
	productPriceScale                // price.scale (three decimals)
	productPriceText                 // price.type ("N/A")
	productStockNegative             // stock.min
	productStockFraction             // stock.type (2.5)
	productActiveText                // active.type ("yes")
	productUpdatedAtBad              // updated_at.type
	productLaunchedBad               // launched.type (no such day)
	productEmailBad                  // email.type
	productTierBad                   // tier.one_of
	productDuplicateSKU              // duplicate_key: repeats an earlier clean record's sku
	productNonObject                 // malformed: a JSON value that is not an object
	numProductFlaws
)

// productDirtyPerMille is the share of flawed products: 2.5%.
const productDirtyPerMille = 25

var (
	productAdjectives = []string{"Classic", "Compact", "Deluxe", "Eco", "Ergonomic", "Portable", "Premium", "Rugged",
		"Smart", "Solar", "Ultra", "Vintage", "Wireless", "Modular", "Foldable", "Silent"}
	productNouns = []string{"Backpack", "Blender", "Camera", "Chair", "Desk Lamp", "Headphones", "Kettle", "Keyboard",
		"Monitor", "Mug", "Notebook", "Speaker", "Tent", "Watch", "Water Bottle", "Yoga Mat"}
	productColors = []string{"black", "white", "red", "blue", "green", "grey", "orange", "teal"}
	productSizes  = []string{"S", "M", "L", "XL"}
	// productTiers is weighted: free is the most frequent.
	productTiers = []string{"free", "free", "free", "free", "pro", "pro", "pro", "enterprise"}

	badProductTiers      = []string{"gold", "Free", "PRO", "basic", ""}
	badProductPrices     = []string{"N/A", "12,50", "free", "$19.99", ""}
	badProductActive     = []string{`"yes"`, `"no"`, `1`, `0`, `"TRUE"`}
	badProductTimestamps = []string{"yesterday", "2026-13-45T25:61:00Z", "03/04/2026 10:00", "2026-02-30T10:00:00Z", ""}
	badProductDates      = []string{"2025-02-30", "2025-13-01", "01/02/2025", "2025-1-5", "soon"}
	nonObjectProducts    = []string{`"sku-lost"`, `[1,2,3]`, `null`, `42`, `false`}
)

// start2020 is 2020-01-01: products launched from then on, over six years.
var start2020 = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// productFlawOf says which flaw, if any, product index has. The first
// record is always clean, so a duplicate always has an earlier sku to
// repeat. Its salt differs from kindOf's: orders' flaws are not moved.
func productFlawOf(seed, index uint64) productFlaw {
	h := mix(mix(seed^0x4cf5ad432745937f) ^ index)
	if index == 0 || h%1000 >= productDirtyPerMille {
		return productClean
	}
	return 1 + productFlaw((h>>32)%uint64(numProductFlaws-1))
}

// duplicateProductOf picks the earlier product whose sku product index
// repeats: one of the previous thousand that is clean, so that the run
// kept it and the repeat is a duplicate rather than a first sighting.
func duplicateProductOf(r *rng, seed, index uint64) uint64 {
	j := index - 1 - uint64(r.intn(int(min(index, 1000))))
	for j > 0 && productFlawOf(seed, j) != productClean {
		j--
	}
	return j
}

// appendProduct appends the JSON of synthetic product index.
func appendProduct(b []byte, seed, index uint64) []byte {
	r := newRNG(seed, index)
	flaw := productFlawOf(seed, index)
	if flaw == productNonObject {
		return append(b, nonObjectProducts[r.intn(len(nonObjectProducts))]...)
	}
	b = append(b, '{')
	sep := false

	if flaw != productSKUMissing {
		b = appendKey(b, &sep, "sku")
		id := index
		if flaw == productDuplicateSKU {
			id = duplicateProductOf(&r, seed, index)
		}
		b = appendSKU(b, id+1, flaw == productSKUTooLong)
	}

	b = appendKey(b, &sep, "title")
	if flaw == productTitleNull {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, productAdjectives[r.intn(len(productAdjectives))]...)
		b = append(b, ' ')
		b = append(b, productNouns[r.intn(len(productNouns))]...)
		b = append(b, " #"...)
		b = strconv.AppendUint(b, index+1, 10)
		b = append(b, '"')
	}

	b = appendKey(b, &sep, "price")
	b = appendPrice(b, &r, flaw)

	b = appendKey(b, &sep, "stock")
	switch flaw {
	case productStockNegative:
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(1+r.intn(50)), 10)
	case productStockFraction:
		b = strconv.AppendInt(b, int64(r.intn(50)), 10)
		b = append(b, ".5"...)
	default:
		stock := int64(r.intn(1000))
		if r.intn(5) == 0 { // sometimes a string of digits, as real feeds send
			b = append(b, '"')
			b = strconv.AppendInt(b, stock, 10)
			b = append(b, '"')
		} else {
			b = strconv.AppendInt(b, stock, 10)
		}
	}

	b = appendKey(b, &sep, "active")
	switch {
	case flaw == productActiveText:
		b = append(b, badProductActive[r.intn(len(badProductActive))]...)
	case r.intn(8) == 0: // "true"/"false" strings are valid too
		b = strconv.AppendQuote(b, strconv.FormatBool(r.intn(4) != 0))
	default:
		b = strconv.AppendBool(b, r.intn(4) != 0)
	}

	b = appendKey(b, &sep, "updated_at")
	if flaw == productUpdatedAtBad {
		b = append(b, '"')
		b = append(b, badProductTimestamps[r.intn(len(badProductTimestamps))]...)
		b = append(b, '"')
	} else {
		b = appendTimestamp(b, &r)
	}

	b = appendKey(b, &sep, "launched")
	b = append(b, '"')
	if flaw == productLaunchedBad {
		b = append(b, badProductDates[r.intn(len(badProductDates))]...)
	} else {
		b = time.Unix(start2020+int64(r.intn(6*365))*86400, 0).UTC().AppendFormat(b, time.DateOnly)
	}
	b = append(b, '"')

	// email is optional: one product in ten has none.
	switch {
	case flaw == productEmailBad:
		b = appendKey(b, &sep, "email")
		b = appendEmail(b, &r, dirtyEmailInvalid)
	case r.intn(10) != 0:
		b = appendKey(b, &sep, "email")
		kind := clean
		if r.intn(20) == 0 { // spaces and capitals: fixed, not rejected
			kind = dirtyEmailCase
		}
		b = appendEmail(b, &r, kind)
	}

	b = appendKey(b, &sep, "tier")
	b = append(b, '"')
	if flaw == productTierBad {
		b = append(b, badProductTiers[r.intn(len(badProductTiers))]...)
	} else {
		b = append(b, productTiers[r.intn(len(productTiers))]...)
	}
	b = append(b, '"')

	b = appendKey(b, &sep, "attrs")
	b = append(b, `{"color":"`...)
	b = append(b, productColors[r.intn(len(productColors))]...)
	b = append(b, `","size":"`...)
	b = append(b, productSizes[r.intn(len(productSizes))]...)
	b = append(b, `","weight_g":`...)
	b = strconv.AppendInt(b, int64(50+r.intn(5000)), 10)
	if r.intn(3) == 0 {
		b = append(b, `,"tags":["new","sale"]`...)
	}
	b = append(b, '}')
	return append(b, '}')
}

// appendSKU writes "SKU-" and the zero-padded number; a too long one gets
// a suffix that takes it past the dataset's 64 characters.
func appendSKU(b []byte, id uint64, tooLong bool) []byte {
	b = append(b, `"SKU-`...)
	for n := uint64(10_000_000); n > id && n > 1; n /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendUint(b, id, 10)
	if tooLong {
		b = append(b, "-limited-edition-with-an-identifier-far-longer-than-any-catalogue-allows"...)
	}
	return append(b, '"')
}

// appendPrice writes a price with two decimals, as a JSON string mostly
// and as a JSON number sometimes; or the flaw's bad price.
func appendPrice(b []byte, r *rng, flaw productFlaw) []byte {
	cents := int64(99 + r.intn(49_900))
	if r.intn(20) == 0 {
		cents += int64(r.intn(5_000_000))
	}
	switch flaw {
	case productPriceText:
		b = append(b, '"')
		b = append(b, badProductPrices[r.intn(len(badProductPrices))]...)
		return append(b, '"')
	case productPriceScale:
		b = strconv.AppendInt(b, cents/100, 10)
		return append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10), '5')
	case productPriceNegative:
		b = append(b, '"', '-')
		b = strconv.AppendInt(b, cents/100, 10)
		return append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10), '"')
	}
	asNumber := r.intn(5) == 0
	if !asNumber {
		b = append(b, '"')
	}
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	if !asNumber {
		b = append(b, '"')
	}
	return b
}
