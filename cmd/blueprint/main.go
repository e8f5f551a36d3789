// Command blueprint is the command-line interface of blueprint: deploy the
// schedules of the deployments manifest, start and watch runs, and check
// that the server, the workers and the schedules are in order.
//
// The commands live in ./internal/cli, so that tests can run them in
// process; this file only wires them to the process's streams and exit code.
//
// It must not import `worker` or `bench`: the CLI starts and watches runs;
// workers run them.
package main

import (
	"os"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
