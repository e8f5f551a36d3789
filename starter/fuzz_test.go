package starter_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/starter"
)

// FuzzParseParams feeds the CLI's --params document and two --param
// key=value strings to ParseParams. Whatever they hold, it never panics; a
// refusal is one line of bad input (exit 2) that never shows a URL's
// password; and what it accepts is valid (the flow's workflow decodes
// it) and comes back the same when given again as a --params document. More seeds are in
// testdata/fuzz/FuzzParseParams.
func FuzzParseParams(f *testing.F) {
	for _, seed := range []struct{ doc, kv1, kv2 string }{
		{"", "", ""},
		{`{"batch_size": 50}`, "batch_size=60", ""},
		{`{"batch_size": 50, "batch_size": 51}`, "", ""},
		{`{"source_url": "demo://orders?seed=7"}`, "source_url=demo://orders?seed=3&latency=0s", "batch_size=2"},
		{`{"batch_size": 1e3}`, "", ""},
		{`{"batch_size": "10"}`, "", ""},
		{`[1, 2]`, "", ""},
		{`{"batch_size": 5} {}`, "", ""},
		{`{"nope": 1}`, "batch_sise=3", ""},
		{"", "batch_size=99999999999999999999", ""},
		{"", "source_url=https://user:hunter2@api.example.com/orders?api_key=hunter2", ""},
		{"", "no-equals-sign", "=value"},
		{`{"source_url": "ftp://user:hunter2@example.com"}`, "", ""},
		{" \n", "batch_size=", "source_url=file:///tmp/orders.json"},
	} {
		f.Add([]byte(seed.doc), seed.kv1, seed.kv2)
	}
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(f, err)
	d, err := m.Get("production-etl")
	require.NoError(f, err)
	fl, err := d.Flow()
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, doc []byte, kv1, kv2 string) {
		var kv []string
		for _, s := range []string{kv1, kv2} {
			if s != "" {
				kv = append(kv, s)
			}
		}
		p, err := starter.ParseParams(d, doc, kv)
		if err != nil {
			require.True(t, badinput.Is(err), "a refusal is bad input: %v", err)
			require.NotContains(t, err.Error(), "\n", "one line")
			if !strings.Contains(string(doc)+kv1+kv2, "hunter2@") {
				return
			}
			// The seeds' password stands in user info: never echoed.
			require.NotContains(t, err.Error(), ":hunter2@", "no password in %q", err.Error())
			return
		}
		again, err := json.Marshal(p)
		require.NoError(t, err)
		_, err = fl.Params.Decode(again)
		require.NoError(t, err, "the workflow accepts what the CLI accepted: %s", again)
		back, err := starter.ParseParams(d, again, nil)
		require.NoError(t, err, "the accepted parameters, given again: %s", again)
		require.Equal(t, p, back)
	})
}
