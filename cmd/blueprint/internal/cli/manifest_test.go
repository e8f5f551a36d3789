package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// TestManifestOnDiskWins edits ./deployments/deployments.yaml, as a
// Prefect user edits prefect.yaml: deploy, run and inspect read the file
// on disk (no -f, no rebuild) and say so; $BLUEPRINT_MANIFEST and -f win
// over it.
func TestManifestOnDiskWins(t *testing.T) {
	name := testutil.UniqueID("cli-disk")
	cleanupSchedule(t, name)
	t.Chdir(t.TempDir())
	t.Setenv(deployments.ManifestEnv, "")
	require.NoError(t, os.MkdirAll("deployments", 0o750))
	write := func(batch string) {
		m := manifestOf(deployment(name, "tq-cli-disk", `{batch_size: `+batch+`}`, chicago9))
		require.NoError(t, os.WriteFile(filepath.Join("deployments", "deployments.yaml"), []byte(m), 0o600))
	}
	local := filepath.Join("deployments", "deployments.yaml")

	write("1000")
	r := ok(t, "deploy")
	assert.Regexp(t, `(?m)^`+name+`\s+created$`, r.stdout)
	assert.Contains(t, r.stdout, "manifest "+local+").")

	write("2000")
	r = ok(t, "deploy", "--dry-run")
	assert.Regexp(t, `(?m)^`+name+`\s+would update$`, r.stdout, "the edit on disk is seen")
	assert.Contains(t, r.stdout, "batch_size")
	r = ok(t, "deploy")
	assert.Regexp(t, `(?m)^`+name+`\s+updated$`, r.stdout)
	r = ok(t, "deploy")
	assert.Regexp(t, `(?m)^`+name+`\s+unchanged$`, r.stdout, "the edit was applied")

	r = ok(t, "deployment", "inspect", name)
	assert.Regexp(t, `(?m)^Manifest:\s+`+local+`$`, r.stdout)
	assert.Regexp(t, `(?m)^Parameters:\s+\{"batch_size":2000,`, r.stdout)
	r = ok(t, "run", name, "--id", testutil.UniqueID("cli-disk-run"), "-o", "json")
	assert.Contains(t, r.stdout, `"batch_size": 2000`)
	// Prefect's FLOW/DEPLOYMENT names it too.
	r = ok(t, "run", "DataPipeline/"+name, "--id", testutil.UniqueID("cli-disk-run"), "-o", "json")
	assert.Contains(t, r.stdout, `"deployment": "`+name+`"`)
	r = ok(t, "deployment", "inspect", "data-pipeline/"+name, "-o", "json")
	// Durations in JSON are strings, as in the manifest.
	assert.Contains(t, r.stdout, `"catchup_window": "1h0m0s"`)
	assert.Contains(t, r.stdout, `"jitter": "0s"`)
	assert.Contains(t, r.stdout, `"manifest": "`+local+`"`)

	// $BLUEPRINT_MANIFEST, then -f, win over the local file.
	other := filepath.Join(t.TempDir(), "other.yaml")
	require.NoError(t, os.WriteFile(other, []byte(manifestOf(deployment("cli-disk-other", "tq-cli-disk", `{batch_size: 5}`, ""))), 0o600))
	t.Setenv(deployments.ManifestEnv, other)
	r = ok(t, "deployment", "ls")
	assert.Contains(t, r.stdout, "cli-disk-other")
	assert.NotContains(t, r.stdout, name)
	r = blueprint(t, "deployment", "inspect", name)
	require.Equal(t, 2, r.code, "%s", r)
	assert.Contains(t, r.stderr, "in "+other)
	r = ok(t, "-f", local, "deployment", "ls")
	assert.True(t, strings.Contains(r.stdout, name), r.stdout)
}
