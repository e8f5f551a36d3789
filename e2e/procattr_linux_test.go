//go:build e2e && linux

package e2e

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill a child process when the test binary
// dies, so that a test that panics or times out leaves no worker behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
