package pipeline

// Defaults applied to fields the input does not mention. The `default:`
// tags below must say the same (a test checks it).
const (
	DefaultBatchSize = 100
	DefaultSourceURL = "demo://orders"
	MaxBatchSize     = 1_000_000
)

// Params is the DataPipeline workflow's input (the Prefect original's
// ExtractConfig). JSON names are snake_case so that a run can be started
// from the Temporal CLI or Web UI with the same document the blueprint CLI
// sends. Its schema (types, defaults, rules, descriptions) is derived from
// the tags by internal/flow, which also decodes and checks the input
// before the workflow sees it.
type Params struct {
	// BatchSize is how many records one run extracts.
	BatchSize int `json:"batch_size" validate:"min=1,max=1000000" default:"100" help:"records to extract in one run"`
	// SourceURL says where to extract from: http(s)://, file:// or demo://.
	SourceURL string `json:"source_url" validate:"required,max=4096,source_url" default:"demo://orders" help:"http(s):// JSON API, file:// JSON/NDJSON/CSV file, or demo://orders"`
}
