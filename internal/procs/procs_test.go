package procs

import (
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A child started here is listed with its name while it runs and gone once
// it has been waited for.
func TestChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	var found *Proc
	for _, p := range Children() {
		if p.PID == cmd.Process.Pid {
			found = &p
		}
	}
	require.NotNil(t, found, "the child is listed")
	assert.Equal(t, "sleep", found.Comm)
	assert.NotEqual(t, "Z", found.State)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	for _, p := range Children() {
		assert.NotEqual(t, cmd.Process.Pid, p.PID, "a reaped child is not listed")
	}
}
