package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chromium is where the Web UI checks find headless Chromium (Debian:
// apt-get install chromium).
const Chromium = "/usr/bin/chromium"

// DumpDOM loads url in headless Chromium and returns the page's DOM after
// its scripts ran for budget of virtual time (the Temporal Web UI renders
// in the browser, then fetches its data). It skips the test, with a
// message saying why, when Chromium is not installed. Chromium runs in its
// own process group, killed whole before DumpDOM returns: its renderer and
// helper processes never outlive the call.
func DumpDOM(ctx context.Context, t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Skipf("the Web UI check needs headless Chromium at %s (apt-get install chromium): %v", Chromium, err)
	}
	cmd := exec.CommandContext(ctx, Chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds()), "--dump-dom", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group's helpers, if any are left
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		t.Fatalf("chromium %s: %v: %s", url, err, strings.Join(lines[max(0, len(lines)-5):], " | "))
	}
	return out.String()
}
