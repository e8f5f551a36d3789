package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/loader"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/text"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// Defaults of source check.
const (
	defaultCheckPages = 2
	// checkSample is how many records source check shows as mapped.
	checkSample = 5
)

func (a *app) sourceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "source",
		Aliases: []string{"sources"},
		Short:   "Check a source before a run reads it",
		Long: `A source is where DataPipeline extracts from: an http(s):// JSON API, a file://
file, demo://orders, or source:NAME, a source declared in the manifest's
sources: (its URL, records path, pagination, fields: mapping and auth).
'source check' reads its first pages the way a run would and says what a run
would make of them, without writing anything.`,
		Example: `  blueprint source check https://api.example.com/orders
  blueprint source check source:shop-orders --pages 5
  blueprint source check source:catalogue --dataset products -o json`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.sourceCheckCommand())
	return cmd
}

// checkReport is source check's JSON output.
type checkReport struct {
	Source  string `json:"source"`
	Dataset string `json:"dataset"`
	Builtin bool   `json:"builtin"`
	// Pagination and RecordsPath are what the read found (see
	// source.Layout); Pagination is "" for a source without pages of its
	// own (file://, demo://). Declared: the named source declares its
	// pagination style (else it was detected from the first response).
	Pagination  string `json:"pagination"`
	Declared    bool   `json:"declared"`
	RecordsPath string `json:"records_path"`
	// Pages were read, of at most MaxPages; More: the source has more.
	Pages    int  `json:"pages"`
	MaxPages int  `json:"max_pages"`
	More     bool `json:"more"`
	// Records were read; Loaded would be loaded, Rejected would not,
	// by reason in Reasons.
	Records  int            `json:"records"`
	Loaded   int            `json:"loaded"`
	Rejected int            `json:"rejected"`
	Reasons  map[string]int `json:"reasons"`
	// Sample are the first records as a run reads them: after the named
	// source's fields: mapping. Examples are the first rejection of each
	// reason.
	Sample   []json.RawMessage `json:"sample"`
	Examples []checkRejection  `json:"examples"`
}

// checkRejection is one rejected record of source check.
type checkRejection struct {
	Index  int    `json:"index"` // from 0, in source order
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func (a *app) sourceCheckCommand() *cobra.Command {
	var (
		datasetName string
		pages       int
	)
	cmd := &cobra.Command{
		Use:   "check (URL | source:NAME)",
		Short: "Read a source's first pages and say what a run would load or reject",
		Long: `Read up to --pages pages of a source the way DataPipeline's Extract reads them
(a named source's records path, pagination, fields: mapping and auth, whose
secrets are read from this environment) and check every record by the rules of
--dataset, as Transform would, duplicate keys included. Nothing is written:
no warehouse, no server, no run.

It prints the pagination style (declared by the named source, or detected from
the first response), where a page's records are, the first 5 records as mapped,
and how many records would be loaded or rejected, by reason, with an example
of each.

Exit codes: 0 every record read would load; 1 some would be rejected, or the
source could not be read (connection refused, an HTTP error: one line says
which); 2 bad input (an unknown source or dataset, a bad URL, --pages below 1,
a fields: mapping naming no field of the dataset).`,
		Example: `  blueprint source check https://api.example.com/orders
  blueprint source check source:shop-orders --pages 5
  blueprint source check source:catalogue --dataset products
  blueprint source check file:data/orders.ndjson -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(ctx context.Context, args []string) error {
			if pages < 1 {
				return usagef("--pages %d: must be 1 or more", pages)
			}
			m, err := a.loadManifest()
			if err != nil {
				return err
			}
			rep, err := a.checkSource(ctx, m, args[0], datasetName, pages)
			if err != nil {
				return err
			}
			if a.json() {
				err = a.printJSON(rep)
			} else {
				err = a.printCheck(rep)
			}
			if err != nil {
				return err
			}
			if rep.Rejected > 0 {
				return exitError(ExitFailure, fmt.Errorf("%d of %s read would be rejected (%s)", rep.Rejected, plural(rep.Records, "record"), reasonList(rep.Reasons)))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&datasetName, "dataset", dataset.Builtins()[0].Name, "the dataset whose rules the records are checked by: a built-in one or one of the manifest's datasets:")
	cmd.Flags().IntVar(&pages, "pages", defaultCheckPages, "read at most this many pages (1 or more)")
	return cmd
}

// checker checks pages of records of a dataset by the rules a run checks
// them by (loader.For), duplicate keys included, so that what it counts
// is what a run would.
type checker struct {
	recs  loader.Records
	dedup *transform.Deduper
}

func newChecker(def dataset.Definition) (*checker, error) {
	recs, err := loader.For(def)
	if err != nil {
		return nil, err
	}
	return &checker{recs: recs, dedup: transform.NewDeduper()}, nil
}

// page checks a page's records; it returns the rejected ones, whose Index
// is their position in the page.
func (c *checker) page(records [][]byte) []record.Rejected {
	_, rejects := c.recs.Check(bytes.Join(records, []byte("\n")), c.dedup)
	return rejects
}

// checkSource reads up to pages pages of ref and checks their records by
// the rules of the dataset called datasetName. Bad input is a
// *badinput.Error; a source that cannot be read, an error (exit 1).
func (a *app) checkSource(ctx context.Context, m *deployments.Manifest, ref, datasetName string, pages int) (checkReport, error) {
	def, err := m.Datasets.Get(datasetName)
	if err != nil {
		return checkReport{}, fmt.Errorf("--dataset: %w", err)
	}
	spec, err := sourceurl.Parse(ref)
	if err != nil {
		return checkReport{}, usagef("source %s: %v", redact.URL(ref), err)
	}
	var src *restapi.Definition
	if spec.Kind == sourceurl.Named {
		s, err := m.Sources.Get(spec.Name)
		if err != nil {
			return checkReport{}, fmt.Errorf("%s (in %s): %w", ref, m.Path, err)
		}
		if problems := datapipeline.CheckSource(s, def.FieldNames()); len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.String()
			}
			return checkReport{}, usagef("source %q for dataset %s: %s", s.Name, def.Name, strings.Join(msgs, "; "))
		}
		src = &s
	}
	if _, err := sourceurl.Resolve(ref, src); err != nil {
		return checkReport{}, usagef("source %s: %v", redact.URL(ref), err)
	}
	c, err := newChecker(def)
	if err != nil {
		return checkReport{}, err
	}
	cfg, err := source.ConfigFromEnv() // as a worker started here would read
	if err != nil {
		return checkReport{}, usagef("%v", err)
	}
	r, err := source.OpenRef(ctx, ref, src, source.ReadOptions{Fields: c.recs.Fields()}, cfg)
	if err != nil {
		return checkReport{}, fmt.Errorf("source %s: %w", redact.URL(ref), err)
	}
	defer r.Close()

	rep := checkReport{Source: redact.URL(ref), Dataset: def.Name, Builtin: def.Builtin, MaxPages: pages, Reasons: map[string]int{},
		Sample: []json.RawMessage{}, Examples: []checkRejection{}}
	if src != nil {
		style := src.Paginate.StyleOrAuto()
		rep.Declared = style != restapi.StyleAuto
		if rep.Declared {
			rep.Pagination = style
		}
	}
	for rep.Pages < pages {
		page, err := r.Next(ctx)
		if err == io.EOF { // the source said so: nothing more, whatever the last cursor
			rep.More = false
			break
		}
		if err != nil {
			return checkReport{}, fmt.Errorf("source %s: page %d: %w", rep.Source, rep.Pages+1, err)
		}
		rep.Pages++
		rep.More = page.Cursor != ""
		for _, raw := range page.Records {
			if len(rep.Sample) < checkSample {
				rep.Sample = append(rep.Sample, sampleOf(raw))
			}
		}
		rejects := c.page(page.Records)
		for _, rj := range rejects {
			if rep.Reasons[rj.Reason] == 0 {
				rep.Examples = append(rep.Examples, checkRejection{Index: rep.Records + rj.Index, Reason: rj.Reason, Detail: rj.Detail})
			}
			rep.Reasons[rj.Reason]++
		}
		rep.Records += len(page.Records)
		rep.Rejected += len(rejects)
		rep.Loaded = rep.Records - rep.Rejected
		if !rep.More {
			break
		}
	}
	if l, ok := source.LayoutOf(r); ok {
		rep.Pagination, rep.RecordsPath = l.Pagination, l.Records
	}
	return rep, nil
}

// sampleOf is a record as the JSON output shows it: the record itself when
// it is valid JSON, else its text as a JSON string.
func sampleOf(raw []byte) json.RawMessage {
	if json.Valid(raw) {
		return json.RawMessage(raw)
	}
	b, _ := json.Marshal(string(raw))
	return b
}

// reasonList writes counts by reason, most first: "price.min 3, sku.required 1".
func reasonList(reasons map[string]int) string {
	names := slices.Collect(maps.Keys(reasons))
	slices.SortFunc(names, func(x, y string) int {
		if reasons[x] != reasons[y] {
			return reasons[y] - reasons[x]
		}
		return strings.Compare(x, y)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, reasons[n])
	}
	return strings.Join(parts, ", ")
}

func (a *app) printCheck(rep checkReport) error {
	f := newFields(a.stdout, "")
	f.add("Source", "%s", rep.Source)
	if rep.Builtin {
		f.add("Dataset", "%s (built in)", rep.Dataset)
	} else {
		f.add("Dataset", "%s", rep.Dataset)
	}
	switch {
	case rep.Pagination == "":
		f.add("Pagination", "none (not an HTTP source)")
	case rep.Declared:
		f.add("Pagination", "%s (declared)", rep.Pagination)
	default:
		f.add("Pagination", "%s (detected)", rep.Pagination)
	}
	switch {
	case rep.Pagination == "":
	case rep.RecordsPath == "":
		f.add("Records path", "(the body is the list)")
	default:
		f.add("Records path", "%s", rep.RecordsPath)
	}
	more := ""
	if rep.More {
		more = ", more follow"
	}
	f.add("Pages read", "%d (at most %d%s)", rep.Pages, rep.MaxPages, more)
	f.add("Records", "%d", rep.Records)
	f.add("Would load", "%d", rep.Loaded)
	f.add("Rejected", "%d", rep.Rejected)
	if err := f.flush(); err != nil {
		return err
	}
	if len(rep.Sample) > 0 {
		fmt.Fprintf(a.stdout, "\nFirst %s, as mapped:\n", plural(len(rep.Sample), "record"))
		for _, s := range rep.Sample {
			line := string(s)
			if cut := text.Cut(line, 200); cut != line {
				line = cut + "..."
			}
			fmt.Fprintf(a.stdout, "  %s\n", line)
		}
	}
	if len(rep.Examples) == 0 {
		return nil
	}
	fmt.Fprintln(a.stdout, "\nRejected by reason:")
	t := newTable(a.stdout, "  REASON", "RECORDS", "FIRST", "DETAIL")
	for _, e := range rep.Examples {
		t.row("  "+e.Reason, fmt.Sprint(rep.Reasons[e.Reason]), fmt.Sprintf("#%d", e.Index+1), e.Detail)
	}
	return t.flush()
}
