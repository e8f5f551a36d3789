// Command clidoc writes docs/cli.md, the CLI reference, from blueprint's
// command tree (`make docs`). It takes the output path, relative to the
// working directory, as its one argument.
//
// It must not import `worker` or `bench`: the CLI starts and watches runs;
// workers run them.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: clidoc OUTPUT.md")
		os.Exit(2)
	}
	var b bytes.Buffer
	if err := cli.WriteReference(&b); err != nil {
		fmt.Fprintf(os.Stderr, "clidoc: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1], b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "clidoc: %v\n", err)
		os.Exit(1)
	}
}
