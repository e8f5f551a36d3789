package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// Order is one order record in JSON: valid, or broken so that Transform
// rejects it for reason (record.ReasonMissingID, ReasonInvalidEmail or
// ReasonInvalidAmount; "" for a valid one).
func Order(t testing.TB, id, reason string) string {
	t.Helper()
	id, email, amount := fmt.Sprintf("%q", id), `"a@example.com"`, `"12.50"`
	switch reason {
	case "":
	case record.ReasonMissingID:
		id = `""`
	case record.ReasonInvalidEmail:
		email = `"not an email"`
	case record.ReasonInvalidAmount:
		amount = `"twelve"`
	default:
		t.Fatalf("testutil.Order: no order is rejected for %q", reason)
	}
	return fmt.Sprintf(`{"id": %s, "customer_email": %s, "category": "books", "amount": %s, "currency": "EUR", "timestamp": "2026-01-02T00:00:00Z"}`, id, email, amount)
}

// OrdersFile writes dir/name.json, a JSON array of good valid orders
// followed by one order rejected for each of bad (see Order), and returns
// its file:// URL.
func OrdersFile(t testing.TB, dir, name string, good int, bad ...string) string {
	t.Helper()
	recs := make([]string, 0, good+len(bad))
	for i := range good {
		recs = append(recs, Order(t, fmt.Sprintf("%s-%d", name, i), ""))
	}
	for i, reason := range bad {
		recs = append(recs, Order(t, fmt.Sprintf("%s-%d", name, good+i), reason))
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, []byte("["+strings.Join(recs, ",\n")+"]"), 0o600); err != nil {
		t.Fatalf("testutil.OrdersFile: %v", err)
	}
	return "file://" + path
}
