package deployments_test

import (
	"strings"
	"testing"
	"time"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
)

// FuzzParse checks that no input makes Parse panic, that every rejection is
// an InputError made of one-line problems with a line number, and that
// whatever it accepts is usable: unique names, valid parameters and
// schedules that fire.
func FuzzParse(f *testing.F) {
	f.Add(deployments.DefaultYAML())
	f.Add([]byte(prod))
	f.Add([]byte(""))
	f.Add([]byte("deployments:\n  - name: a\n    schedule: {cron: '@hourly', paused: false, jitter: 1m}\n"))
	f.Add([]byte("deployments:\n  - &d {name: a}\n  - *d\n"))
	f.Add([]byte("deployments:\n  - name: x\n    schedule: {cron: 'TZ=UTC'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := deployments.Parse(flows.Registry.Flows(), "f.yaml", data)
		if err != nil {
			if m != nil {
				t.Fatalf("manifest and error: %v", err)
			}
			if !badinput.Is(err) {
				t.Fatalf("not an InputError: %T %v", err, err)
			}
			problems := deployments.Problems(err)
			if len(problems) == 0 {
				t.Fatalf("no problems in %v", err)
			}
			for _, p := range problems {
				if p.Line < 1 || p.File != "f.yaml" || strings.Contains(p.String(), "\n") {
					t.Fatalf("bad problem %q", p.String())
				}
			}
			return
		}
		if len(m.Deployments) == 0 {
			t.Fatal("accepted a manifest without deployments")
		}
		seen := map[string]bool{}
		for _, d := range m.Deployments {
			if seen[d.Name] {
				t.Fatalf("duplicate name %q accepted", d.Name)
			}
			seen[d.Name] = true
			if _, err := m.Get(d.Name); err != nil {
				t.Fatalf("Get(%q): %v", d.Name, err)
			}
			if _, err := d.Params(); err != nil {
				t.Fatalf("accepted parameters fail: %v", err)
			}
			for _, s := range d.Schedules {
				if s.Location == nil || s.CatchupWindow < deployments.MinCatchupWindow || s.Jitter < 0 || s.Jitter > deployments.MaxJitter {
					t.Fatalf("accepted schedule out of bounds: %+v", s)
				}
				if len(s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1)) != 1 {
					t.Fatalf("accepted schedule %q never fires", s.When())
				}
			}
		}
	})
}
