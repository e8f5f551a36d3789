//go:build realapi

package source

// Reads a real REST server, json-server from npm, in every pagination
// style it offers. Not part of `make test`: run `make test-realapi`, which
// installs json-server 0.17 and 1.0 into a temporary directory and points
// BLUEPRINT_JSON_SERVER_017 and BLUEPRINT_JSON_SERVER_1 at their
// binaries.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source/restapi"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

const jsonServerOrders = 23

// startJSONServer runs the json-server binary bin on a free port over a
// database of jsonServerOrders orders, and stops it when the test ends.
func startJSONServer(t *testing.T, env string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Skipf("%s is not set (make test-realapi sets it)", env)
	}
	var orders []map[string]any
	for i := 1; i <= jsonServerOrders; i++ {
		orders = append(orders, map[string]any{
			"id": fmt.Sprintf("js-%02d", i), "customer": map[string]any{"email": fmt.Sprintf("c%d@example.com", i)},
			"category": "books", "total_price": float64(i) + 0.5, "currency": "EUR", "created_at": "2026-03-01T10:00:00Z",
		})
	}
	db, err := json.Marshal(map[string]any{"orders": orders})
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "db.json")
	require.NoError(t, os.WriteFile(path, db, 0o600))

	port := testutil.FreePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--host", "127.0.0.1", path)
	cmd.Dir = dir
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("json-server output:\n%s", out.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/orders")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		require.True(t, time.Now().Before(deadline), "json-server did not start: %v\n%s", err, out.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// jsonServerCheck reads spec to the end, checks it yields every order once
// in order, mapped, and that resuming after the second page reads the rest.
func jsonServerCheck(t *testing.T, spec pipeline.SourceSpec) {
	t.Helper()
	var want []string
	for i := 1; i <= jsonServerOrders; i++ {
		want = append(want, fmt.Sprintf(`{"id":"js-%02d","customer_email":"c%d@example.com","category":"books","amount":%d.5,"currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, i, i, i))
	}
	got, cursors, err := readAll(t, open(t, spec, "", 1000, Attempt{}, Config{}))
	require.NoError(t, err)
	require.Equal(t, want, got)
	t.Logf("%d pages; cursors: %q", len(cursors), cursors)
	require.GreaterOrEqual(t, len(cursors), 5)
	rest, _, err := readAll(t, open(t, spec, cursors[1], 1000, Attempt{}, Config{}))
	require.NoError(t, err)
	require.Equal(t, want[10:], rest, "resume after the second page of 5")
}

var jsonServerFields = map[string]string{"customer_email": "customer.email", "amount": "total_price", "timestamp": "created_at"}

func TestJSONServer017(t *testing.T) {
	base := startJSONServer(t, "BLUEPRINT_JSON_SERVER_017")
	tests := []struct {
		name string
		def  restapi.Definition
	}{
		{"Link header from _page/_limit, auto-detected", restapi.Definition{URL: base + "/orders?_page=1&_limit=5"}},
		{"offset: _start/_limit with X-Total-Count", restapi.Definition{URL: base + "/orders",
			Paginate: restapi.Paginate{Style: restapi.StyleOffset, OffsetParam: "_start", SizeParam: "_limit", Size: 5, TotalHeader: "X-Total-Count"}}},
		{"page numbers until an empty page", restapi.Definition{URL: base + "/orders",
			Paginate: restapi.Paginate{Style: restapi.StylePage, PageParam: "_page", SizeParam: "_limit", Size: 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.def.Name, tt.def.Fields = "json-server", jsonServerFields
			jsonServerCheck(t, namedSpec(t, tt.def))
		})
	}
}

func TestJSONServer1(t *testing.T) {
	base := startJSONServer(t, "BLUEPRINT_JSON_SERVER_1")
	// json-server 1.0: {"first":1,"prev":null,"next":2,"last":5,"pages":5,"items":23,"data":[...]}
	tests := []struct {
		name string
		def  restapi.Definition
	}{
		{"next page number, auto-detected, the page parameter found in the URL", restapi.Definition{URL: base + "/orders?_page=1&_per_page=5"}},
		{"page style with total_pages at pages", restapi.Definition{URL: base + "/orders?_page=1&_per_page=5",
			Paginate: restapi.Paginate{Style: restapi.StylePage, PageParam: "_page", TotalPages: "pages"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.def.Name, tt.def.Fields = "json-server", jsonServerFields
			jsonServerCheck(t, namedSpec(t, tt.def))
		})
	}
	t.Run("a plain URL, no manifest entry", func(t *testing.T) {
		got, cursors, err := readAll(t, open(t, mustSpec(t, base+"/orders?_page=1&_per_page=5"), "", 1000, Attempt{}, Config{}))
		require.NoError(t, err)
		require.Len(t, got, jsonServerOrders)
		for i, rec := range got {
			require.Contains(t, rec, fmt.Sprintf(`"id":"js-%02d"`, i+1))
		}
		require.Len(t, cursors, 5, "5 pages of 5")
	})
}
