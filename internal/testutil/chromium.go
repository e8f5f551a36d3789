package testutil

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"regexp"
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

// PageText loads url in headless Chromium until its visible text contains
// want (the Web UI fetches its data after the first paint, so a slow
// machine gets a second try with a longer virtual time budget), and
// returns that text on one line: tags, scripts and styles removed, white
// space collapsed. The text is returned as it is when want never shows.
func PageText(ctx context.Context, t testing.TB, url, want string) string {
	t.Helper()
	var txt string
	for _, budget := range []time.Duration{15 * time.Second, 30 * time.Second} {
		if txt = VisibleText(DumpDOM(ctx, t, url, budget)); strings.Contains(txt, want) {
			return txt
		}
	}
	return txt
}

var (
	scriptsAndStyles = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`)
	tags             = regexp.MustCompile(`<[^>]*>`)
)

// VisibleText is a DOM's visible text on one line.
func VisibleText(dom string) string {
	dom = scriptsAndStyles.ReplaceAllString(dom, " ")
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(dom, " "))), " ")
}

// WaitHTTP waits until url answers with a status below 500 (a Web UI that
// has started), or ctx ends.
func WaitHTTP(ctx context.Context, t testing.TB, url string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatalf("wait for %s: %v", url, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered: %v (last: %v)", url, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
