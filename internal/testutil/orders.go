package testutil

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// rejectedBy says, for each reason RejectOrder can give a record, the
// field it spoils and the value it gives it.
var rejectedBy = map[string]struct{ field, value string }{
	record.ReasonMissingID:     {"id", ""},
	record.ReasonInvalidEmail:  {"customer_email", "not an email"},
	record.ReasonInvalidAmount: {"amount", "twelve"},
}

// RejectOrder spoils a valid order record of OrderRecords so that
// Transform rejects it for reason: record.ReasonMissingID,
// ReasonInvalidEmail or ReasonInvalidAmount.
func RejectOrder(t testing.TB, rec, reason string) string {
	t.Helper()
	spoil, ok := rejectedBy[reason]
	if !ok {
		t.Fatalf("testutil.RejectOrder: no record is spoiled for %q", reason)
	}
	field := regexp.MustCompile(`"` + spoil.field + `":"[^"]*"`)
	if !field.MatchString(rec) {
		t.Fatalf("testutil.RejectOrder: %s has no %s", rec, spoil.field)
	}
	return field.ReplaceAllLiteralString(rec, `"`+spoil.field+`":"`+spoil.value+`"`)
}

// OrdersFile writes dir/name.json, a JSON array of good valid orders
// followed by one rejected for each of bad (see RejectOrder), and returns
// its file:// URL.
func OrdersFile(t testing.TB, dir, name string, good int, bad ...string) string {
	t.Helper()
	recs := OrderRecords(name, good+len(bad))
	for i, reason := range bad {
		recs[good+i] = RejectOrder(t, recs[good+i], reason)
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, []byte("["+strings.Join(recs, ",\n")+"]"), 0o600); err != nil {
		t.Fatalf("testutil.OrdersFile: %v", err)
	}
	return "file://" + path
}
