package cli

import (
	"context"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
)

// session is what a command that talks to the server gets from
// a.withServer (and a.withManifest, which adds the manifest): a client and a
// deadline, so that every command loads, connects and bounds its calls the
// same way.
type session struct {
	a       *app
	cancels []context.CancelFunc
}

// withServer is a.run for a command that talks to the server. Its body
// checks its input first (s.manifest, flags), then calls s.connect: bad
// input is reported as such even when the server is down. What the body
// bounded is released when it returns.
func (a *app) withServer(fn func(ctx context.Context, s *session, args []string) error) func(*cobra.Command, []string) error {
	return a.run(func(ctx context.Context, args []string) error {
		s := &session{a: a}
		defer func() {
			for _, cancel := range s.cancels {
				cancel()
			}
		}()
		return fn(ctx, s, args)
	})
}

// withManifest is withServer for a command that reads the manifest (see
// loadManifest), loaded before the body runs, so that a bad manifest is
// reported as such whether or not the server is up.
func (a *app) withManifest(fn func(ctx context.Context, s *session, m *deployments.Manifest, args []string) error) func(*cobra.Command, []string) error {
	return a.withServer(func(ctx context.Context, s *session, args []string) error {
		m, err := a.loadManifest()
		if err != nil {
			return err
		}
		return fn(ctx, s, m, args)
	})
}

// loadManifest loads the manifest deployments.Find picks: -f, then
// $BLUEPRINT_MANIFEST, then ./deployments/deployments.yaml when it exists,
// then the copy built into blueprint.
func (a *app) loadManifest() (*deployments.Manifest, error) {
	return deployments.LoadFound(a.flows, a.file)
}

// deadline returns ctx ending rpcTimeout from now, so that a server that
// stops answering cannot hang a script. The session releases it when the
// body returns.
func (s *session) deadline(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	s.cancels = append(s.cancels, cancel)
	return ctx
}

// connect returns the client, connected once per command, and ctx ending
// rpcTimeout from now for the calls to make with it.
func (s *session) connect(ctx context.Context) (context.Context, client.Client, error) {
	ctx = s.deadline(ctx)
	c, err := s.a.connect(ctx)
	return ctx, c, err
}
