package dataset

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// products is the manifest's example dataset, valid.
func products() Definition {
	return Definition{
		Name:        "products",
		Description: "Product catalogue",
		Key:         []string{"sku"},
		Fields: []Field{
			{Name: "sku", Type: String, Required: true, MaxLength: 64},
			{Name: "title", Type: String, Required: true, MaxLength: 500},
			{Name: "price", Type: Decimal, Precision: 12, Scale: 2, Min: "0"},
			{Name: "stock", Type: Integer, Min: "0"},
			{Name: "active", Type: Boolean},
			{Name: "updated_at", Type: Timestamp},
			{Name: "launched", Type: Date},
			{Name: "email", Type: Email},
			{Name: "tier", Type: String, OneOf: []string{"free", "pro", "enterprise"}},
			{Name: "attrs", Type: JSON},
		},
	}
}

func TestValidateAccepts(t *testing.T) {
	assert.Empty(t, products().Validate())
	for _, d := range Builtins() {
		assert.Empty(t, d.Validate(), d.Name)
	}
	d := products()
	d.Key = []string{"sku", "title"}
	d.Fields[3] = Field{Name: "stock", Type: Integer, Min: "-9223372036854775808", Max: "9223372036854775807"}
	d.Fields[2] = Field{Name: "price", Type: Decimal, Precision: 38, Scale: 38, Min: "-0.5", Max: "0.99"}
	d.Fields[0].Pattern = `^[A-Z]{3}-\d+$`
	assert.Empty(t, d.Validate())
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Definition)
		path   string
		msg    string // a part of the message
	}{
		{"empty name", func(d *Definition) { d.Name = "" }, "name", "not a valid name"},
		{"upper-case name", func(d *Definition) { d.Name = "Products" }, "name", "lower-case"},
		{"name with dash", func(d *Definition) { d.Name = "my-products" }, "name", "not a valid name"},
		{"bookkeeping-like name", func(d *Definition) { d.Name = "_runs" }, "name", "starting with a letter"},
		{"name too long", func(d *Definition) { d.Name = "p" + strings.Repeat("x", 63) }, "name", "at most 63"},
		{"no fields", func(d *Definition) { d.Fields = nil; d.Key = nil }, "fields", "at least one field"},
		{"field name with underscore first", func(d *Definition) { d.Fields[4].Name = "_hash" }, "fields._hash", "starting with a letter"},
		{"field name with space", func(d *Definition) { d.Fields[4].Name = "is active" }, "fields.is active", "not a valid name"},
		{"field declared twice", func(d *Definition) { d.Fields[4].Name = "stock" }, "fields.stock", "more than once"},
		{"no type", func(d *Definition) { d.Fields[4].Type = "" }, "fields.active.type", "needs a type: one of string, integer, decimal"},
		{"unknown type", func(d *Definition) { d.Fields[4].Type = "bool" }, "fields.active.type", `did you mean "boolean"?`},
		{"unknown type, typo", func(d *Definition) { d.Fields[3].Type = "integr" }, "fields.stock.type", `unknown type "integr": use one of string, integer, decimal, boolean, timestamp, date, email, json; did you mean "integer"?`},
		{"max_length on integer", func(d *Definition) { d.Fields[3].MaxLength = 5 }, "fields.stock.max_length", "max_length does not apply to an integer field (only to string and email)"},
		{"negative max_length", func(d *Definition) { d.Fields[0].MaxLength = -1 }, "fields.sku.max_length", "must be positive"},
		{"one_of on email", func(d *Definition) { d.Fields[7].OneOf = []string{"a@b.c"} }, "fields.email.one_of", "only to string"},
		{"pattern on date", func(d *Definition) { d.Fields[6].Pattern = "^2" }, "fields.launched.pattern", "pattern does not apply to a date field"},
		{"precision on integer", func(d *Definition) { d.Fields[3].Precision = 5 }, "fields.stock.precision", "only to decimal"},
		{"scale on string", func(d *Definition) { d.Fields[1].Scale = 2 }, "fields.title.scale", "only to decimal"},
		{"min on string", func(d *Definition) { d.Fields[1].Min = "1" }, "fields.title.min", "only to integer and decimal"},
		{"max on boolean", func(d *Definition) { d.Fields[4].Max = "1" }, "fields.active.max", "only to integer and decimal"},
		{"decimal without precision", func(d *Definition) { d.Fields[2].Precision = 0; d.Fields[2].Scale = 0 }, "fields.price.precision", "needs a precision from 1 to 38"},
		{"decimal precision too big", func(d *Definition) { d.Fields[2].Precision = 39 }, "fields.price.precision", "not 39"},
		{"scale above precision", func(d *Definition) { d.Fields[2].Scale = 13 }, "fields.price.scale", "from 0 to the precision 12, not 13"},
		{"negative scale", func(d *Definition) { d.Fields[2].Scale = -1 }, "fields.price.scale", "not -1"},
		{"min not a number", func(d *Definition) { d.Fields[2].Min = "zero" }, "fields.price.min", `min "zero" is not a decimal number`},
		{"min with exponent", func(d *Definition) { d.Fields[2].Min = "1e3" }, "fields.price.min", "exponent"},
		{"min too precise", func(d *Definition) { d.Fields[2].Min = "0.001" }, "fields.price.min", "more than scale 2 decimal places"},
		{"max too large", func(d *Definition) { d.Fields[2].Max = "12345678901" }, "fields.price.max", "more than 10 integer digits"},
		{"integer min with a fraction", func(d *Definition) { d.Fields[3].Min = "0.5" }, "fields.stock.min", "not an integer"},
		{"integer max out of range", func(d *Definition) { d.Fields[3].Max = "9223372036854775808" }, "fields.stock.max", "64-bit"},
		{"min above max", func(d *Definition) { d.Fields[3].Min = "10"; d.Fields[3].Max = "9" }, "fields.stock.min", "min 10 is greater than max 9"},
		{"decimal min above max", func(d *Definition) { d.Fields[2].Min = "-1.5"; d.Fields[2].Max = "-2" }, "fields.price.min", "greater than max"},
		{"bad pattern", func(d *Definition) { d.Fields[0].Pattern = "(a" }, "fields.sku.pattern", "not a valid RE2 expression"},
		{"lookahead pattern", func(d *Definition) { d.Fields[0].Pattern = "a(?=b)" }, "fields.sku.pattern", "RE2"},
		{"empty one_of", func(d *Definition) { d.Fields[8].OneOf = []string{} }, "fields.tier.one_of", "lists no values"},
		{"one_of duplicate", func(d *Definition) { d.Fields[8].OneOf = []string{"a", "b", "a"} }, "fields.tier.one_of[2]", `"a" is listed more than once`},
		{"one_of too long", func(d *Definition) { d.Fields[8].MaxLength = 4 }, "fields.tier.one_of[2]", `"enterprise" is longer than max_length 4`},
		{"one_of against pattern", func(d *Definition) { d.Fields[8].Pattern = "^[a-z]{3,4}$" }, "fields.tier.one_of[2]", "does not match the pattern"},
		{"one_of NUL", func(d *Definition) { d.Fields[8].OneOf = []string{"a\x00"} }, "fields.tier.one_of[0]", "NUL"},
		{"column on a manifest dataset", func(d *Definition) { d.Fields[0].Column = "sku_id" }, "fields.sku.column", "only a built-in"},
		{"no key", func(d *Definition) { d.Key = nil }, "key", "needs a key"},
		{"key names no field", func(d *Definition) { d.Key = []string{"skuu"} }, "key[0]", `no field "skuu"; did you mean "sku"?`},
		{"key twice", func(d *Definition) { d.Key = []string{"sku", "title", "sku"} }, "key[2]", "more than once"},
		{"key optional", func(d *Definition) { d.Key = []string{"sku", "stock"} }, "key[1]", "must be required"},
		{"key json", func(d *Definition) { d.Fields[9].Required = true; d.Key = []string{"attrs"} }, "key[0]", "type json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := products()
			tt.change(&d)
			ps := d.Validate()
			require.NotEmpty(t, ps)
			var found []string
			for _, p := range ps {
				found = append(found, p.String())
				if p.Path == tt.path && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Fatalf("no problem %s: ...%s... in:\n%s", tt.path, tt.msg, strings.Join(found, "\n"))
		})
	}
}

func TestValidateBuiltinColumn(t *testing.T) {
	d, ok := Lookup("orders")
	require.True(t, ok)
	d.Fields[0].Column = "Record-ID"
	require.Len(t, d.Validate(), 1)
	assert.Equal(t, "fields.id.column", d.Validate()[0].Path)
}

func TestProblemString(t *testing.T) {
	assert.Equal(t, "fields.price.precision: too big", Problem{Path: "fields.price.precision", Msg: "too big"}.String())
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "products", "order_lines_2", "a" + strings.Repeat("b", 62)} {
		assert.NoError(t, CheckName(ok), ok)
	}
	for _, bad := range []string{"", "1a", "_a", "A", "a-b", "a b", "é", "a" + strings.Repeat("b", 63), "a\n"} {
		assert.Error(t, CheckName(bad), bad)
	}
}

func TestLookupCopies(t *testing.T) {
	d, ok := Lookup("orders")
	require.True(t, ok)
	assert.True(t, d.Builtin)
	d.Fields[0].Name = "changed"
	d.Key[0] = "changed"
	again, _ := Lookup("orders")
	assert.Equal(t, "id", again.Fields[0].Name)
	assert.Equal(t, []string{"id"}, again.Key)
	_, ok = Lookup("products")
	assert.False(t, ok)
}
