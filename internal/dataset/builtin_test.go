package dataset_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// TestOrdersFieldsAreRecordFields pins the built-in orders dataset to the
// record Transform produces: the same field names, in the same order.
// (An external test package, so restapi may one day import dataset.)
func TestOrdersFieldsAreRecordFields(t *testing.T) {
	d, ok := dataset.Lookup("orders")
	require.True(t, ok)
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	assert.Equal(t, restapi.RecordFields, names)
	assert.Equal(t, []string{"id"}, d.Key)
	assert.Equal(t, "record_id", d.Fields[0].Column)
	assert.Equal(t, "ordered_at", d.Fields[5].Column)
}
