package testutil

import "github.com/blueprint-etl/blueprint/internal/dataset"

// ProductsYAML is the products dataset as a manifest's datasets: section
// declares it (the docs' example, shipped in deployments/deployments.yaml):
// the ten-field dataset that demo://products generates records of, with
// every type. Products is the same definition as a Go value; a test of
// the manifest parser checks that the two agree.
const ProductsYAML = `datasets:
  products:
    description: Product catalogue (demo://products generates it)
    key: [sku]
    fields:
      sku:        {type: string, required: true, max_length: 64}
      title:      {type: string, required: true, max_length: 500}
      price:      {type: decimal, precision: 12, scale: 2, min: 0}
      stock:      {type: integer, min: 0}
      active:     {type: boolean}
      updated_at: {type: timestamp}
      launched:   {type: date}
      email:      {type: email}
      tier:       {type: string, one_of: [free, pro, enterprise]}
      attrs:      {type: json}
`

// Products returns the products dataset of ProductsYAML: what the bench
// loads next to orders and what demo://products' tests check its records
// by. Each call returns a new value, so a caller may change it.
func Products() dataset.Definition {
	return dataset.Definition{
		Name:        "products",
		Description: "Product catalogue (demo://products generates it)",
		Key:         []string{"sku"},
		Fields: []dataset.Field{
			{Name: "sku", Type: dataset.String, Required: true, MaxLength: 64},
			{Name: "title", Type: dataset.String, Required: true, MaxLength: 500},
			{Name: "price", Type: dataset.Decimal, Precision: 12, Scale: 2, Min: "0"},
			{Name: "stock", Type: dataset.Integer, Min: "0"},
			{Name: "active", Type: dataset.Boolean},
			{Name: "updated_at", Type: dataset.Timestamp},
			{Name: "launched", Type: dataset.Date},
			{Name: "email", Type: dataset.Email},
			{Name: "tier", Type: dataset.String, OneOf: []string{"free", "pro", "enterprise"}},
			{Name: "attrs", Type: dataset.JSON},
		},
	}
}
