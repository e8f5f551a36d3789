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
	parent  context.Context
	cancels []context.CancelFunc
}

// withServer is a.run for a command that talks to the server. Its body
// checks its input first (s.manifest, flags), then calls s.connect: bad
// input is reported as such even when the server is down. What the body
// bounded is released when it returns.
func (a *app) withServer(fn func(ctx context.Context, s *session, args []string) error) func(*cobra.Command, []string) error {
	return a.run(func(ctx context.Context, args []string) error {
		s := &session{a: a, parent: ctx}
		defer func() {
			for _, cancel := range s.cancels {
				cancel()
			}
		}()
		return fn(ctx, s, args)
	})
}

// withManifest is withServer for a command that reads the manifest: the
// -f manifest, or the built-in one, is loaded before the body runs, so that
// a bad manifest is reported as such whether or not the server is up.
func (a *app) withManifest(fn func(ctx context.Context, s *session, m *deployments.Manifest, args []string) error) func(*cobra.Command, []string) error {
	return a.withServer(func(ctx context.Context, s *session, args []string) error {
		m, err := deployments.Load(a.file)
		if err != nil {
			return err
		}
		return fn(ctx, s, m, args)
	})
}

// deadline returns a context that ends rpcTimeout from now, so that a
// server that stops answering cannot hang a script.
func (s *session) deadline() context.Context {
	ctx, cancel := context.WithTimeout(s.parent, rpcTimeout)
	s.cancels = append(s.cancels, cancel)
	return ctx
}

// connect returns the client, connected once per command, and a context
// for the calls that ends rpcTimeout from now.
func (s *session) connect() (context.Context, client.Client, error) {
	ctx := s.deadline()
	c, err := s.a.connect(ctx)
	return ctx, c, err
}
