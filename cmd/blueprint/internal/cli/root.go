// Package cli holds the blueprint commands. NewRootCommand builds them;
// Execute runs them and turns the outcome into an exit code:
//
//	0  success
//	1  a run failed, or the server or a worker did not do what was asked
//	2  bad usage or bad input (a flag, an argument, a parameter, the
//	   manifest); nothing was started, created or changed
//	130 interrupted (Ctrl-C)
//
// Every error is printed as one line, "blueprint: <message>", on stderr.
//
// It must not import `worker` or `bench`: the CLI starts and watches runs;
// workers run them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/flow"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// rpcTimeout bounds the server calls of one command (watching a run
// excepted), so that a server that stops answering cannot hang a script.
const rpcTimeout = 30 * time.Second

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// app is what every command shares: the flows it knows, the global flags,
// the streams, and the connection once made.
type app struct {
	// flows are the flows the commands know: flows.Registry's, or a
	// test's (export_test.go).
	flows          *flow.Registry
	stdin          io.Reader
	stdout, stderr io.Writer

	address, namespace, profile, configFile string
	file, output                            string
	// databaseURL is the warehouse of the run logs (runs logs, runs show).
	databaseURL string

	client   client.Client
	settings conn.Settings
}

// NewRootCommand builds the blueprint command tree on the given streams,
// for tests and documentation tools. Execute is the way to run it: it maps
// errors to exit codes and messages and closes the server connection.
func NewRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{flows: flows.Registry.Flows(), stdin: stdin, stdout: stdout, stderr: stderr}
	return a.rootCommand()
}

// Execute runs blueprint with args and returns the exit code. Ctrl-C (or
// SIGTERM) cancels the command in progress.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, flows.Registry.Flows(), args, stdin, stdout, stderr)
}

// execute runs blueprint with args, knowing the flows of reg.
func execute(ctx context.Context, reg *flow.Registry, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{flows: reg, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	a.close()
	if err == nil {
		return ExitOK
	}

	if cmd == nil {
		cmd = root
	}
	var ce *commandError
	if !errors.As(err, &ce) {
		// Cobra's own errors: unknown command or flag, wrong number of
		// arguments. Nothing ran.
		fmt.Fprintf(stderr, "blueprint: %s\n", oneLine(err.Error()))
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	code := ce.code()
	fmt.Fprintf(stderr, "blueprint: %s\n", oneLine(ce.Error()))
	if code == ExitInterrupted && ctx.Err() == nil {
		code = ExitFailure
	}
	return code
}

// commandError is an error returned by a command's own code (as opposed to
// cobra's argument checks), with the exit code it calls for.
type commandError struct {
	err error
	// exit, when not 0, overrides the code derived from err.
	exit int
}

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

func (e *commandError) code() int {
	switch {
	case e.exit != 0:
		return e.exit
	case badinput.Is(e.err):
		return ExitUsage
	case errors.Is(e.err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFailure
	}
}

// exitError returns an error that exits with code.
func exitError(code int, err error) error {
	return &commandError{err: err, exit: code}
}

// usagef is a bad-usage error found by a command itself (exit 2).
func usagef(format string, args ...any) error { return badinput.Errorf(format, args...) }

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// run adapts a command body to cobra: it marks the body's errors as the
// command's own, so that Execute picks the exit code from the error.
func (a *app) run(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd.Context(), args); err != nil {
			var ce *commandError
			if errors.As(err, &ce) {
				return err
			}
			return &commandError{err: err}
		}
		return nil
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "blueprint",
		Short: "Run and schedule ETL pipelines on Temporal",
		Long: `blueprint runs extract -> transform -> load pipelines as Temporal workflows.

Deployments (named sets of parameters, each with an optional schedule) live in a
manifest: the file -f names, else $BLUEPRINT_MANIFEST, else
./deployments/deployments.yaml when it exists, else the copy built into
blueprint. deploy and deployment inspect say which one they read. 'blueprint deploy' turns their schedules into Temporal Schedules,
'blueprint run' starts a run by hand and 'blueprint status' checks that the
server, the workers and the schedules are in order.

Connection settings come from the standard Temporal sources: the TEMPORAL_*
environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS...) and the profiles of temporal.toml, overridden by the flags below.

Exit codes: 0 success; 1 a run failed or the server or a worker did not do what
was asked; 2 bad usage or input, in which case nothing was started or changed;
130 interrupted.

Coming from Prefect: a deployment is a Prefect deployment, a task queue is a work
pool, 'blueprint runs' is 'prefect flow-run'.`,
		Example: `  blueprint deploy --dry-run
  blueprint deploy
  blueprint run production-etl --param batch_size=500 --watch
  blueprint runs ls --deployment production-etl --status failed
  blueprint status`,
		Args:              cobra.ArbitraryArgs,
		RunE:              groupRunE,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case outputTable, outputJSON:
				return nil
			default:
				return a.run(func(context.Context, []string) error {
					return usagef("-o/--output %q: must be table or json", a.output)
				})(cmd, args)
			}
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return err })

	pf := root.PersistentFlags()
	pf.StringVar(&a.address, "address", "", "Temporal server host:port (default: $TEMPORAL_ADDRESS, the profile's, or "+conn.DefaultAddress+")")
	pf.StringVarP(&a.namespace, "namespace", "n", "", "Temporal namespace (default: $TEMPORAL_NAMESPACE, the profile's, or "+conn.DefaultNamespace+")")
	pf.StringVar(&a.profile, "profile", "", "profile of the Temporal config file (default: $TEMPORAL_PROFILE or \"default\")")
	pf.StringVar(&a.configFile, "config-file", "", "Temporal config file, temporal.toml (default: $TEMPORAL_CONFIG_FILE or the standard location)")
	pf.StringVarP(&a.file, "file", "f", "", "deployments manifest (default: $"+deployments.ManifestEnv+", else ./"+deployments.LocalPath+" if it exists, else the copy built into blueprint)")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json")

	root.AddCommand(
		a.deployCommand(),
		a.deploymentCommand(),
		a.flowsCommand(),
		a.sourceCommand(),
		a.datasetsCommand(),
		a.runCommand("run"),
		a.runsCommand(),
		a.workPoolCommand(),
		a.statusCommand(),
		a.configCommand(),
		a.codecServerCommand(),
		a.versionCommand(),
	)
	return root
}

// groupRunE is the RunE of a command that only groups subcommands: alone
// it shows its help; followed by an unknown word it is a usage error, with
// suggestions, like an unknown command of the root.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return errors.New(msg)
}

// overrides are the connection flags.
func (a *app) overrides() conn.Overrides {
	return conn.Overrides{Address: a.address, Namespace: a.namespace, Profile: a.profile, ConfigFile: a.configFile}
}

// loadSettings reads the connection configuration without connecting. A
// broken configuration is bad input.
func (a *app) loadSettings() (client.Options, conn.Settings, error) {
	opts, s, err := conn.Load(a.overrides(), nil)
	if err != nil {
		return opts, s, &badinput.Error{Err: err}
	}
	return opts, s, nil
}

// connect dials the server once per command; conn.Dial fails within a few
// seconds with a clear message when the server cannot be reached.
func (a *app) connect(ctx context.Context) (client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	opts, s, err := a.loadSettings()
	if err != nil {
		return nil, err
	}
	c, err := conn.Dial(ctx, opts)
	if err != nil {
		return nil, err
	}
	a.client, a.settings = c, s
	return c, nil
}

func (a *app) close() {
	if a.client != nil {
		a.client.Close()
		a.client = nil
	}
}

func (a *app) json() bool { return a.output == outputJSON }
