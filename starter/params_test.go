package starter_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/starter"
)

// production is the shipped production-etl deployment (batch_size 1000).
func production(t *testing.T) deployments.Deployment {
	t.Helper()
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	d, err := m.Get("production-etl")
	require.NoError(t, err)
	return d
}

func TestParseParamsPrecedence(t *testing.T) {
	prod := production(t)
	bare := deployments.Deployment{Flows: flows.Registry.Flows(), Name: "bare"}
	cases := []struct {
		name   string
		d      deployments.Deployment
		json   string
		kv     []string
		batch  int
		source string
	}{
		{"workflow defaults", bare, "", nil, datapipeline.DefaultBatchSize, datapipeline.DefaultSourceURL},
		{"manifest over defaults", prod, "", nil, 1000, "demo://orders"},
		{"empty JSON object", prod, " {} ", nil, 1000, "demo://orders"},
		{"blank JSON", prod, " \n", nil, 1000, "demo://orders"},
		{"JSON over manifest", prod, `{"batch_size": 50}`, nil, 50, "demo://orders"},
		{"JSON over defaults", bare, `{"source_url": "demo://orders?seed=7"}`, nil, datapipeline.DefaultBatchSize, "demo://orders?seed=7"},
		{"key=value over JSON", prod, `{"batch_size": 50}`, []string{"batch_size=60"}, 60, "demo://orders"},
		{"later key=value wins", prod, "", []string{"batch_size=1", "batch_size=2"}, 2, "demo://orders"},
		{"value may hold '='", prod, "", []string{"source_url=demo://orders?seed=3&latency=0s"}, 1000, "demo://orders?seed=3&latency=0s"},
		{"null leaves the value as it was", prod, `{"batch_size": null}`, nil, 1000, "demo://orders"},
		{"hand-made int value", deployments.Deployment{Flows: flows.Registry.Flows(), Name: "h", Parameters: map[string]any{"batch_size": 7}}, "", nil, 7, datapipeline.DefaultSourceURL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := starter.ParseParams(tc.d, []byte(tc.json), tc.kv)
			require.NoError(t, err)
			assert.EqualValues(t, tc.batch, p["batch_size"])
			assert.Equal(t, tc.source, p["source_url"])
		})
	}
}

func TestParseParamsRejects(t *testing.T) {
	prod := production(t)
	cases := []struct {
		name string
		d    deployments.Deployment
		json string
		kv   []string
		want []string // parts of the message
	}{
		{"key without =", prod, "", []string{"batch_size"}, []string{`--param "batch_size": must be key=value`}},
		{"empty key", prod, "", []string{"=5"}, []string{`--param "=5": the key before '=' is empty`}},
		{"empty value", prod, "", []string{"batch_size="}, []string{`--param "batch_size=": the value is empty; leave the parameter out to use its default (100)`}},
		{"unknown key", prod, "", []string{"batchsize=5"}, []string{`--param "batchsize=...": unknown parameter "batchsize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`}},
		{"unknown key hides the value", prod, "", []string{"sourceurl=https://u:hunter2@example.com/x?token=abc"}, []string{`--param "sourceurl=...": unknown parameter "sourceurl"`}},
		{"no = hides a credential", prod, "", []string{"https://u:hunter2@example.com/x"}, []string{`must be key=value`}},
		{"fraction", prod, "", []string{"batch_size=10.5"}, []string{`--param "batch_size=10.5": batch_size must be an integer, got "10.5"`}},
		{"word", prod, "", []string{"batch_size=abc"}, []string{`batch_size must be an integer, got "abc"`}},
		{"exponent", prod, "", []string{"batch_size=1e3"}, []string{`batch_size must be an integer, got "1e3"`}},
		{"overflow", prod, "", []string{"batch_size=99999999999999999999"}, []string{`got "99999999999999999999", which is out of range`}},
		{"the bad one of several", prod, "", []string{"batch_size=5", "source_url="}, []string{`--param "source_url=": the value is empty`}},
		{"zero fails validation", prod, "", []string{"batch_size=0"}, []string{"invalid parameters: batch_size=0: must be at least 1"}},
		{"bad scheme fails validation", prod, "", []string{"source_url=ftp://example.com/x"}, []string{`invalid parameters: source_url="ftp://example.com/x"`}},
		{"JSON array", prod, `[1]`, nil, []string{`--params: must be a JSON object such as {"batch_size": ...}, got an array`}},
		{"JSON string", prod, `"batch_size=5"`, nil, []string{"--params: must be a JSON object", "got a string"}},
		{"JSON number", prod, `5`, nil, []string{"got a number"}},
		{"nested object for an integer", prod, `{"batch_size": {"n": 1}}`, nil, []string{`--params: batch_size: must be an integer, got an object`}},
		{"string for an integer", prod, `{"batch_size": "10"}`, nil, []string{`--params: batch_size: must be an integer, got the string "10"`}},
		{"fraction in JSON", prod, `{"batch_size": 10.5}`, nil, []string{"--params: batch_size: must be an integer, got the number 10.5"}},
		{"exponent in JSON", prod, `{"batch_size": 1e3}`, nil, []string{"--params: batch_size: must be an integer, got the number 1e3"}},
		{"overflow in JSON", prod, `{"batch_size": 99999999999999999999}`, nil, []string{"batch_size=99999999999999999999: is out of range for an integer"}},
		{"number for a string", prod, `{"source_url": 5}`, nil, []string{"--params: source_url: must be a string, got the number 5"}},
		{"array for a string", prod, `{"source_url": ["https://u:hunter2@example.com"]}`, nil, []string{`--params: source_url: must be a string, got a list`}},
		{"unknown key in JSON", prod, `{"batchsize": 5}`, nil, []string{`--params: unknown parameter "batchsize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`}},
		{"duplicate key in JSON", prod, `{"batch_size": 5, "batch_size": 6}`, nil, []string{`--params: parameter "batch_size" is given twice`}},
		{"invalid JSON", prod, `{"batch_size": }`, nil, []string{"--params: parameters are not valid JSON after \"batch_size\""}},
		{"truncated JSON", prod, `{"batch_size": 5`, nil, []string{"--params: parameters are not valid JSON: unexpected end of input"}},
		{"text after the object", prod, `{} {}`, nil, []string{"--params: unexpected text after the JSON object"}},
		{"JSON value fails validation", prod, `{"batch_size": 200000000}`, nil, []string{"invalid parameters: batch_size=200000000: must be at most 100000000"}},
		{"key=value checked even when JSON is fine", prod, `{"batch_size": 5}`, []string{"nope"}, []string{`--param "nope": must be key=value`}},
		{"bad hand-made deployment", deployments.Deployment{Flows: flows.Registry.Flows(), Name: "h", Parameters: map[string]any{"batch_size": "ten"}}, "", nil, []string{`deployment "h": batch_size: must be an integer, got the string "ten"`}},
		{"unknown hand-made parameter", deployments.Deployment{Flows: flows.Registry.Flows(), Name: "h", Parameters: map[string]any{"size": 1}}, "", nil, []string{`deployment "h": unknown parameter "size"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := starter.ParseParams(tc.d, []byte(tc.json), tc.kv)
			require.Error(t, err)
			assert.True(t, badinput.Is(err), "InputError: %v", err)
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.NotContains(t, err.Error(), "hunter2", "no secret in messages")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadParamsArg(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "params.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"batch_size": 7}`), 0o600))

	cases := []struct {
		name  string
		arg   string
		stdin string
		want  string
	}{
		{"absent", "", "ignored", ""},
		{"literal JSON", `{"batch_size": 5}`, "", `{"batch_size": 5}`},
		{"file", "@" + file, "", `{"batch_size": 7}`},
		{"stdin", "-", `{"batch_size": 9}`, `{"batch_size": 9}`},
		{"empty stdin", "-", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := starter.ReadParamsArg(tc.arg, strings.NewReader(tc.stdin))
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := starter.ReadParamsArg("@"+filepath.Join(dir, "missing.json"), nil)
		require.Error(t, err)
		assert.True(t, badinput.Is(err))
		assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
		assert.Contains(t, err.Error(), "missing.json")
	})
	bad := []struct{ name, arg, want string }{
		{"no file name", "@", "name the file after '@'"},
		{"directory", "@" + dir, "--params @" + dir},
		{"no stdin", "-", "no standard input"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := starter.ReadParamsArg(tc.arg, nil)
			require.Error(t, err)
			assert.True(t, badinput.Is(err))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("too large", func(t *testing.T) {
		_, err := starter.ReadParamsArg("-", strings.NewReader(strings.Repeat(" ", starter.MaxParamsSize+1)))
		require.Error(t, err)
		assert.True(t, badinput.Is(err))
		assert.Contains(t, err.Error(), "larger than")
	})

	// What it reads feeds ParseParams.
	b, err := starter.ReadParamsArg("@"+file, nil)
	require.NoError(t, err)
	p, err := starter.ParseParams(production(t), b, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 7, p["batch_size"])
}
