package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without Chromium the Web UI checks fail with the command that installs
// it; they never skip.
func TestChromiumMissingSaysHowToInstallIt(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "chromium")
	err := chromiumMissing(missing)
	require.Error(t, err)
	assert.Equal(t, "the Web UI checks need headless Chromium at "+missing+" (`make tools` installs it when run as root); install it with: sudo apt-get update && sudo apt-get install -y chromium", err.Error())
	assert.NoError(t, chromiumMissing(Chromium), "this machine has Chromium: the Web UI checks run")
}

// `make tools` installs Chromium at the same place, and tells a user who
// is not root the same command.
func TestMakeToolsInstallsChromium(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	require.NoError(t, err)
	assert.Contains(t, string(makefile), "CHROMIUM := "+Chromium+"\n")
	assert.Contains(t, string(makefile), "install it with: "+InstallChromium+`"`)
	assert.Contains(t, string(makefile), "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium")
}
