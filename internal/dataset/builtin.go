package dataset

import (
	"slices"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// orders is the built-in orders dataset: the table blueprint has always
// loaded, described in the model's terms so that the manifest, `source
// check` and the Web UI show it like any dataset. Its records are still
// normalised by internal/transform (category lower-cased, currency
// upper-cased, Unix-second timestamps, the record.Reason* reasons), which
// these rules describe but do not replace. Field names are the JSON names
// of record.Order (restapi.RecordFields), in order; a test pins it.
var orders = Definition{
	Name:        "orders",
	Description: "Orders: the dataset blueprint ships with",
	Key:         []string{"id"},
	Builtin:     true,
	Fields: []Field{
		{Name: "id", Type: String, Required: true, MaxLength: record.MaxIDLen, Column: "record_id"},
		{Name: "customer_email", Type: Email, Required: true, MaxLength: record.MaxEmailLen},
		{Name: "category", Type: String, Required: true},
		{Name: "amount", Type: Decimal, Required: true,
			Precision: record.MaxAmountIntDigits + record.MaxAmountFracDigits, Scale: record.MaxAmountFracDigits, Min: "0"},
		{Name: "currency", Type: String, Required: true, Pattern: "^[A-Za-z]{3}$"},
		{Name: "timestamp", Type: Timestamp, Required: true, Column: "ordered_at"},
	},
}

// builtins are the datasets blueprint defines, by name.
var builtins = []Definition{orders}

// Builtins returns copies of the built-in datasets, in name order: their
// names are taken (a manifest may not declare them).
func Builtins() []Definition {
	out := make([]Definition, len(builtins))
	for i, d := range builtins {
		out[i] = d.clone()
	}
	return out
}

// Lookup returns a copy of the built-in dataset called name.
func Lookup(name string) (Definition, bool) {
	for _, d := range builtins {
		if d.Name == name {
			return d.clone(), true
		}
	}
	return Definition{}, false
}

// clone copies d deeply, so that a caller changing it changes no one
// else's.
func (d Definition) clone() Definition {
	d.Key = slices.Clone(d.Key)
	d.Fields = slices.Clone(d.Fields)
	for i := range d.Fields {
		d.Fields[i].OneOf = slices.Clone(d.Fields[i].OneOf)
	}
	return d
}
