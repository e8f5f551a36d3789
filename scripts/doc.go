// Package scripts holds the shell scripts behind `make demo` and `make down`
// (lib.sh, up.sh, demo.sh, down.sh) and the tests that keep them in step with
// the Go code: the dev server flags, the names the pipeline registers, and
// the rule that `make down` stops only the processes `make demo` started.
// It has no Go API.
//
// It imports nothing of blueprint.
package scripts
