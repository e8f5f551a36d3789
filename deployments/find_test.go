package deployments_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
)

func TestGetAcceptsFlowSlashDeployment(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	for _, name := range []string{"production-etl", "DataPipeline/production-etl", "data-pipeline/production-etl", "data_pipeline/production-etl"} {
		d, err := m.Get(name)
		require.NoError(t, err, name)
		assert.Equal(t, "production-etl", d.Name, name)
	}
	_, err = m.Get("OrdersReport/production-etl")
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Equal(t, `deployment "production-etl" runs flow DataPipeline, not "OrdersReport" (write DataPipeline/production-etl, or just production-etl)`, err.Error())
	_, err = m.Get("DataPipeline/production-etI")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown deployment "production-etI"`)
	assert.Contains(t, err.Error(), `did you mean "production-etl"?`)
}

// TestFindPrefersTheFileOnDisk runs in a temporary working directory (no
// t.Parallel: it changes the process's directory and environment).
func TestFindPrefersTheFileOnDisk(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(deployments.ManifestEnv, "")

	assert.Equal(t, "", deployments.Find(""), "no file: the built-in copy")
	m, err := deployments.LoadFound(flows.Registry.Flows(), "")
	require.NoError(t, err)
	assert.Equal(t, deployments.DefaultPath, m.Path)

	require.NoError(t, os.MkdirAll("deployments", 0o750))
	edited := []byte("deployments:\n  - name: edited-etl\n    workflow: DataPipeline\n    parameters:\n      batch_size: 7\n")
	require.NoError(t, os.WriteFile(deployments.LocalPath, edited, 0o600))
	assert.Equal(t, deployments.LocalPath, deployments.Find(""), "the file on disk wins")
	m, err = deployments.LoadFound(flows.Registry.Flows(), "")
	require.NoError(t, err)
	assert.Equal(t, []string{"edited-etl"}, m.Names())
	assert.Equal(t, filepath.Join("deployments", "deployments.yaml"), m.Path, "messages name the file read")

	other := filepath.Join(dir, "other.yaml")
	t.Setenv(deployments.ManifestEnv, other)
	assert.Equal(t, other, deployments.Find(""), "$BLUEPRINT_MANIFEST wins over the local file")
	assert.Equal(t, "x.yaml", deployments.Find("x.yaml"), "-f wins over everything")
}
