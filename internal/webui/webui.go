// Package webui builds links into the Temporal Web UI.
//
// It imports nothing of blueprint.
package webui

import (
	"net/url"
	"os"
	"strings"
)

// DefaultURL is the Web UI of `temporal server start-dev`.
const DefaultURL = "http://localhost:8233"

// EnvURL names the variable that says where the Web UI is.
const EnvURL = "BLUEPRINT_UI_URL"

// RunLink returns the Web UI address of a workflow run. The base is
// $BLUEPRINT_UI_URL, else DefaultURL.
func RunLink(namespace, workflowID, runID string) string {
	base := strings.TrimRight(os.Getenv(EnvURL), "/")
	if base == "" {
		base = DefaultURL
	}
	return base + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID) + "/" + url.PathEscape(runID) + "/history"
}
