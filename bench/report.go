package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one harness run measured. Durations are in
// milliseconds.
type Report struct {
	Timestamp    time.Time     `json:"timestamp"`
	Machine      machine       `json:"machine"`
	Config       config        `json:"config"`
	Measurements []Measurement `json:"measurements"`

	Latency     *latencyDetail      `json:"latency,omitempty"`
	Concurrency *concurrencyDetail  `json:"concurrency,omitempty"`
	CLI         *cliDetail          `json:"cli,omitempty"`
	Throughput  []*throughputDetail `json:"throughput,omitempty"`
	Tuning      *tuningDetail       `json:"tuning,omitempty"`
	Deployments *deploymentsDetail  `json:"deployments,omitempty"`

	// PhaseCPU says, per phase, how busy the rest of the machine was.
	PhaseCPU map[string]cpuShares `json:"phase_cpu"`

	Notes    []string `json:"notes"`
	Profiles []string `json:"profiles,omitempty"`
	// ElapsedSeconds is the harness's own wall time.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// Measurement is one row of the table: a value, the baseline it is
// compared with (0 when the target is an absolute limit), their ratio and
// the target.
type Measurement struct {
	Key          string  `json:"key"`
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Baseline     float64 `json:"baseline,omitempty"`
	BaselineName string  `json:"baseline_name,omitempty"`
	Unit         string  `json:"unit"`
	Ratio        float64 `json:"ratio,omitempty"`
	// Target applies to Ratio when there is a baseline, else to Value.
	TargetOp    string  `json:"target_op"` // "<=" or ">="
	TargetLimit float64 `json:"target_limit"`
	Pass        bool    `json:"pass"`
}

// compared builds a measurement of value against baseline.
func compared(key, name, unit string, value, baseline float64, baselineName, op string, limit float64) Measurement {
	m := Measurement{Key: key, Name: name, Unit: unit, Value: value, Baseline: baseline, BaselineName: baselineName,
		TargetOp: op, TargetLimit: limit}
	if baseline > 0 {
		m.Ratio = value / baseline
	}
	m.Pass = meets(m.Ratio, op, limit)
	return m
}

// limited builds a measurement of value against an absolute limit.
func limited(key, name, unit string, value float64, op string, limit float64) Measurement {
	return Measurement{Key: key, Name: name, Unit: unit, Value: value, TargetOp: op, TargetLimit: limit,
		Pass: meets(value, op, limit)}
}

func meets(v float64, op string, limit float64) bool {
	if op == ">=" {
		return v >= limit
	}
	return v <= limit
}

func (m Measurement) target() string {
	if m.BaselineName != "" {
		return fmt.Sprintf("ratio %s %s", m.TargetOp, fmtNum(m.TargetLimit))
	}
	return fmt.Sprintf("%s %s %s", m.TargetOp, fmtNum(m.TargetLimit), m.Unit)
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// PrintTable writes the aligned table, the machine and the notes.
func (r *Report) PrintTable(w io.Writer) {
	fmt.Fprintf(w, "blueprint bench  %s  %s\n", r.Timestamp.Format(time.RFC3339), r.Machine.summary())
	fmt.Fprintf(w, "took %s, phases: %s\n", (time.Duration(r.ElapsedSeconds * float64(time.Second))).Round(time.Second), strings.Join(r.Config.Phases, ", "))
	if r.Config.Quick {
		fmt.Fprintln(w, "QUICK MODE: tiny sizes, the figures are not meaningful")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "measure\tvalue\tbaseline\tratio\ttarget\tresult\t")
	for _, m := range r.Measurements {
		baseline, ratio := "-", "-"
		if m.BaselineName != "" {
			baseline = fmt.Sprintf("%s %s (%s)", fmtNum(m.Baseline), m.Unit, m.BaselineName)
			// Three decimals: 0.496 must not show as a missed 0.50.
			ratio = strconv.FormatFloat(m.Ratio, 'f', 3, 64)
		}
		result := "PASS"
		if !m.Pass {
			result = "MISS"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\t\n", m.Name, fmtNum(m.Value), m.Unit, baseline, ratio, m.target(), result)
	}
	_ = tw.Flush()
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintln(w, "  - "+n)
		}
	}
	for _, p := range r.Profiles {
		fmt.Fprintln(w, "profile: "+p)
	}
}

// WriteJSON writes the report to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<=" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// machine describes where the figures were measured.
type machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel"`
	Arch        string `json:"arch"`
	SDKVersion  string `json:"temporal_sdk_version"`
	Temporal    string `json:"temporal_cli_version"`
	Hostname    string `json:"hostname"`
	// LoadAvgStart is /proc/loadavg's 1-minute load when the run started.
	LoadAvgStart float64 `json:"loadavg_start"`
	// OtherCPUShare is the share of the machine's CPU capacity that
	// processes other than the harness, its children and PostgreSQL used
	// during the run: other work on the machine skews every figure.
	OtherCPUShare float64 `json:"other_cpu_share"`
}

func describeMachine(temporalBin string) machine {
	m := machine{
		CPU:       "unknown",
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
	}
	if v, ok := procField("/proc/cpuinfo", "model name", ":"); ok {
		m.CPU = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal", ":"); ok {
		if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64); err == nil {
			m.MemoryBytes = kb << 10
		}
	}
	if v, ok := procField("/etc/os-release", "PRETTY_NAME", "="); ok {
		m.OS = strings.Trim(v, `"`)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.temporal.io/sdk" {
				m.SDKVersion = d.Version
			}
		}
	}
	if out, err := exec.Command(temporalBin, "--version").Output(); err == nil {
		m.Temporal = strings.TrimSpace(string(out))
	}
	m.Hostname, _ = os.Hostname()
	m.LoadAvgStart = loadAvg()
	return m
}

// loadAvg is the 1-minute load average, 0 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func (m machine) summary() string {
	return fmt.Sprintf("%s, %d cores, %.1f GiB, %s, %s %s/%s", m.CPU, m.Cores, float64(m.MemoryBytes)/(1<<30), m.GoVersion, m.OS, m.Kernel, m.Arch)
}

// procField returns the value of the first "key<sep>value" line of file.
func procField(file, key, sep string) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// stats summarizes a sample of durations, in milliseconds.
type stats struct {
	N      int       `json:"n"`
	Median float64   `json:"median_ms"`
	Min    float64   `json:"min_ms"`
	Max    float64   `json:"max_ms"`
	P90    float64   `json:"p90_ms"`
	All    []float64 `json:"all_ms"`
}

func summarize(ds []time.Duration) stats {
	s := stats{N: len(ds), All: make([]float64, len(ds))}
	if len(ds) == 0 {
		return s
	}
	for i, d := range ds {
		s.All[i] = ms(d)
	}
	sorted := slices.Clone(s.All)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Median = percentile(sorted, 50)
	s.P90 = percentile(sorted, 90)
	return s
}

// percentile of sorted values, interpolating between neighbours (the
// median of an even count is the mean of the middle two).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) float64 { return summarize(ds).Median }

// printChanges compares rep with the report at path, the previous run's,
// measurement by measurement: the value and, where there is one, the
// ratio, with the change in percent. Nothing is printed when there is no
// previous report; measurements only one of the two has are listed.
func printChanges(w io.Writer, path string, rep *Report) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(w, "\nno previous results at %s to compare with\n", path)
		return
	}
	var prev Report
	if err := json.Unmarshal(b, &prev); err != nil {
		fmt.Fprintf(w, "\nprevious results at %s unreadable: %v\n", path, err)
		return
	}
	fmt.Fprintf(w, "\nchanges since the previous results (%s", prev.Timestamp.Format(time.RFC3339))
	if prev.Config.Quick != rep.Config.Quick {
		fmt.Fprint(w, ", a run of another size: quick vs full")
	}
	fmt.Fprintln(w, "):")
	old := map[string]Measurement{}
	for _, m := range prev.Measurements {
		old[m.Key] = m
	}
	change := func(a, b float64) string {
		if a == 0 {
			return "new"
		}
		return fmt.Sprintf("%+.1f%%", 100*(b-a)/a)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "measure\tprevious\tnow\tchange\tprevious ratio\tratio\tchange\t")
	var added []string
	for _, m := range rep.Measurements {
		p, ok := old[m.Key]
		if !ok {
			added = append(added, m.Key)
			continue
		}
		delete(old, m.Key)
		pr, r, rc := "-", "-", "-"
		if m.BaselineName != "" && p.BaselineName != "" {
			pr, r = strconv.FormatFloat(p.Ratio, 'f', 3, 64), strconv.FormatFloat(m.Ratio, 'f', 3, 64)
			rc = change(p.Ratio, m.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s\t%s\t%s\t%s\t\n", m.Name, fmtNum(p.Value), p.Unit, fmtNum(m.Value), m.Unit,
			change(p.Value, m.Value), pr, r, rc)
	}
	_ = tw.Flush()
	if len(added) > 0 {
		fmt.Fprintf(w, "  not in the previous results: %s\n", strings.Join(added, ", "))
	}
	if len(old) > 0 {
		var gone []string
		for k := range old {
			gone = append(gone, k)
		}
		slices.Sort(gone)
		fmt.Fprintf(w, "  only in the previous results: %s\n", strings.Join(gone, ", "))
	}
}
