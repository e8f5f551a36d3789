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

// Chromium is where the Web UI checks find headless Chromium (Debian's
// chromium package; `make tools` installs it when it is missing and make
// runs as root).
const Chromium = "/usr/bin/chromium"

// InstallChromium is the one command that installs Chromium where
// `make tools` could not (it was not root).
const InstallChromium = "sudo apt-get update && sudo apt-get install -y chromium"

// RequireChromium fails the test, never skips it, when headless Chromium
// is not installed: a Web UI check that does not run is not a pass. The
// message is the one command that installs it.
func RequireChromium(t testing.TB) {
	t.Helper()
	if err := chromiumMissing(Chromium); err != nil {
		t.Fatal(err)
	}
}

// chromiumMissing says what to do when Chromium is not at path, nil when
// it is.
func chromiumMissing(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("the Web UI checks need headless Chromium at %s (`make tools` installs it when run as root); install it with: %s", path, InstallChromium)
	}
	return nil
}

// DumpDOM loads url in headless Chromium and returns the page's DOM after
// its scripts ran for budget of virtual time (the Temporal Web UI renders
// in the browser, then fetches its data). Without Chromium the test fails
// (RequireChromium). Chromium runs in its own process group, killed whole
// before DumpDOM returns: its renderer and helper processes never outlive
// the call.
func DumpDOM(ctx context.Context, t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	RequireChromium(t)
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
