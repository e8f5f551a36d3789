package deployments

import (
	"strings"
	"unicode"

	"github.com/blueprint-etl/blueprint/internal/badinput"
)

// splitFlow reads Prefect's FLOW/DEPLOYMENT spelling of a deployment
// name: "DataPipeline/production-etl" (or "data-pipeline/production-etl")
// names the deployment production-etl of the flow DataPipeline. A name
// without a '/' has no flow.
func splitFlow(name string) (flow, deployment string) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// sameFlow compares flow names the way people write them: case, '-' and
// '_' aside, so DataPipeline, data-pipeline and data_pipeline are one.
func sameFlow(a, b string) bool { return flowKey(a) == flowKey(b) }

func flowKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// checkFlow verifies the flow part of a FLOW/DEPLOYMENT name.
func checkFlow(flow string, d Deployment) error {
	if flow == "" || sameFlow(flow, d.Workflow) {
		return nil
	}
	return badinput.Errorf("deployment %q runs flow %s, not %q (write %s/%s, or just %s)", d.Name, d.Workflow, flow, d.Workflow, d.Name, d.Name)
}
