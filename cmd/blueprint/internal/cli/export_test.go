package cli

// ExecuteContext runs blueprint like Execute, with a context the test
// cancels (Execute's is cancelled by signals only), for commands that serve
// until stopped, such as codec-server; and with the flows of the registry
// it is given instead of flows.Registry's, so that a test can add its own
// (flowstest.WithKinds).
var ExecuteContext = execute
