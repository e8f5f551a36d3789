package dataset_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
)

func products(fields ...dataset.Field) dataset.Definition {
	return dataset.Definition{
		Name: "products",
		Key:  []string{"sku"},
		Fields: append([]dataset.Field{
			{Name: "sku", Type: dataset.String, Required: true},
			{Name: "price", Type: dataset.Decimal, Precision: 12, Scale: 2},
		}, fields...),
	}
}

// TestCompare: what a table made for one definition must do to hold
// another, and what it refuses.
func TestCompare(t *testing.T) {
	base := products(dataset.Field{Name: "name", Type: dataset.String, MaxLength: 50})
	with := func(mod func(d *dataset.Definition)) dataset.Definition {
		d := products(dataset.Field{Name: "name", Type: dataset.String, MaxLength: 50})
		mod(&d)
		return d
	}
	note := dataset.Field{Name: "note", Type: dataset.String}
	stock := dataset.Field{Name: "stock", Type: dataset.Integer, Required: true}
	tests := []struct {
		name    string
		new     dataset.Definition
		want    dataset.Change
		wantErr string // "" when allowed
	}{
		{name: "same", new: base, want: dataset.Change{}},
		{name: "description only", new: with(func(d *dataset.Definition) { d.Description = "what we sell" }), want: dataset.Change{}},
		{
			name: "optional field added",
			new:  with(func(d *dataset.Definition) { d.Fields = append(d.Fields, note) }),
			want: dataset.Change{Added: []dataset.Field{note}},
		},
		{
			name: "required field added",
			new:  with(func(d *dataset.Definition) { d.Fields = append(d.Fields, stock) }),
			want: dataset.Change{Added: []dataset.Field{stock}, NewRequired: []dataset.Field{stock}},
		},
		{
			name: "field removed: its column stays",
			new:  with(func(d *dataset.Definition) { d.Fields = d.Fields[:2] }),
			want: dataset.Change{Removed: []dataset.Field{{Name: "name", Type: dataset.String, MaxLength: 50}}},
		},
		{
			name: "decimal widened",
			new:  with(func(d *dataset.Definition) { d.Fields[1].Precision, d.Fields[1].Scale = 14, 4 }),
			want: dataset.Change{
				Widened:      []dataset.Field{{Name: "price", Type: dataset.Decimal, Precision: 14, Scale: 4}},
				RulesChanged: true,
			},
		},
		{
			name: "decimal: more integer digits",
			new:  with(func(d *dataset.Definition) { d.Fields[1].Precision = 18 }),
			want: dataset.Change{
				Widened:      []dataset.Field{{Name: "price", Type: dataset.Decimal, Precision: 18, Scale: 2}},
				RulesChanged: true,
			},
		},
		{name: "max_length", new: with(func(d *dataset.Definition) { d.Fields[2].MaxLength = 80 }), want: dataset.Change{RulesChanged: true}},
		{name: "one_of", new: with(func(d *dataset.Definition) { d.Fields[2].OneOf = []string{"a", "b"} }), want: dataset.Change{RulesChanged: true}},
		{name: "pattern", new: with(func(d *dataset.Definition) { d.Fields[2].Pattern = "^[a-z]+$" }), want: dataset.Change{RulesChanged: true}},
		{name: "min", new: with(func(d *dataset.Definition) { d.Fields[1].Min = "0" }), want: dataset.Change{RulesChanged: true}},
		{name: "max", new: with(func(d *dataset.Definition) { d.Fields[1].Max = "1000" }), want: dataset.Change{RulesChanged: true}},
		{name: "existing field made required", new: with(func(d *dataset.Definition) { d.Fields[2].Required = true }), want: dataset.Change{RulesChanged: true}},

		{
			name:    "changed type",
			new:     with(func(d *dataset.Definition) { d.Fields[1] = dataset.Field{Name: "price", Type: dataset.Integer} }),
			wantErr: `column "price": decimal(12,2) -> integer: a changed type would lose data`,
		},
		{
			name:    "string to email",
			new:     with(func(d *dataset.Definition) { d.Fields[2].Type = dataset.Email }),
			wantErr: `column "name": string -> email: a changed type would lose data`,
		},
		{
			name:    "smaller precision",
			new:     with(func(d *dataset.Definition) { d.Fields[1].Precision = 10 }),
			wantErr: `column "price": decimal(12,2) -> decimal(10,2): a narrower decimal would lose data`,
		},
		{
			name:    "smaller scale",
			new:     with(func(d *dataset.Definition) { d.Fields[1].Precision, d.Fields[1].Scale = 14, 1 }),
			wantErr: `column "price": decimal(12,2) -> decimal(14,1): a narrower decimal would lose data`,
		},
		{
			name:    "scale grew more than precision: fewer integer digits",
			new:     with(func(d *dataset.Definition) { d.Fields[1].Precision, d.Fields[1].Scale = 13, 4 }),
			wantErr: `column "price": decimal(12,2) -> decimal(13,4): a narrower decimal would lose data`,
		},
		{
			name:    "changed key",
			new:     with(func(d *dataset.Definition) { d.Key = []string{"sku", "name"} }),
			wantErr: `key: (sku) -> (sku, name): a changed key needs a new dataset`,
		},
		{
			name:    "changed column",
			new:     with(func(d *dataset.Definition) { d.Fields[2].Column = "title" }),
			wantErr: `column "name": column name -> column title: a field moved to another column would lose its data`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dataset.Compare(base, tt.new)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tt.wantErr)
				var ce *dataset.ChangeError
				require.True(t, errors.As(err, &ce), "a *ChangeError")
				assert.Equal(t, "products", ce.Dataset)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want.Added) > 0 || len(tt.want.Widened) > 0, got.NeedsDDL())
		})
	}
}

// TestCompareSymmetry: a definition compared with itself needs nothing,
// and an added field read backwards is a removed one.
func TestCompareSymmetry(t *testing.T) {
	a := products()
	b := products(dataset.Field{Name: "note", Type: dataset.JSON})
	c, err := dataset.Compare(a, a)
	require.NoError(t, err)
	assert.True(t, c.None())
	c, err = dataset.Compare(b, a)
	require.NoError(t, err)
	assert.Equal(t, []dataset.Field{{Name: "note", Type: dataset.JSON}}, c.Removed)
	assert.False(t, c.NeedsDDL())
}

func TestTypeName(t *testing.T) {
	assert.Equal(t, "decimal(20,6)", dataset.Field{Type: dataset.Decimal, Precision: 20, Scale: 6}.TypeName())
	assert.Equal(t, "timestamp", dataset.Field{Type: dataset.Timestamp}.TypeName())
	assert.Equal(t, "record_id", dataset.Field{Name: "id", Column: "record_id"}.ColumnName())
	assert.Equal(t, "id", dataset.Field{Name: "id"}.ColumnName())
}
