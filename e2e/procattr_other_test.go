//go:build e2e && !linux

package e2e

import "os/exec"

// setProcAttr does nothing here: only Linux kills children with their
// parent. t.Cleanup still kills them when a test ends normally.
func setProcAttr(*exec.Cmd) {}
