package cli

// ExecuteContext runs blueprint like Execute, with a context the test
// cancels (Execute's is cancelled by signals only): for commands that serve
// until stopped, such as codec-server.
var ExecuteContext = execute
