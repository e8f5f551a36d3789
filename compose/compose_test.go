package compose_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/temporal"
	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// Without the Temporal CLI the package stops at once, with one line.
func TestMain(m *testing.M) { os.Exit(testutil.RequireTemporal(m)) }

// repoRoot is the module root: tests run in compose/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

// loadProject loads docker-compose.yml the way `docker compose` does, with env
// as the only environment: neither the test machine's variables nor an .env
// file can change what is checked.
func loadProject(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	vars := make([]string, 0, len(env))
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithName("blueprint"),
		cli.WithEnv(vars),
		cli.WithResolvedPaths(true),
		cli.WithProfiles(profiles),
	)
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml must load")
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

// environment returns a service's environment with unset values as "".
func environment(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

func TestComposeServices(t *testing.T) {
	p := loadProject(t, nil)
	assert.ElementsMatch(t, []string{
		"postgresql", "temporal", "temporal-setup", "temporal-admin-tools",
		"temporal-ui", "warehouse", "worker",
	}, p.ServiceNames())
}

// versionTag is what a pinned tag looks like: at least major.minor.
var versionTag = regexp.MustCompile(`^v?\d+\.\d+`)

func TestComposeImagesArePinned(t *testing.T) {
	p := loadProject(t, nil)
	for _, name := range p.ServiceNames() {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			require.NotEmpty(t, s.Image, "an image name, so `docker compose` and `--scale` share one image")
			ref, err := reference.ParseNormalizedNamed(s.Image)
			require.NoError(t, err)
			require.False(t, reference.IsNameOnly(ref), "%s: bare image name, pin a tag", s.Image)
			if _, ok := ref.(reference.Digested); ok {
				return
			}
			tagged, ok := ref.(reference.Tagged)
			require.True(t, ok, "%s: no tag", s.Image)
			assert.NotEqual(t, "latest", tagged.Tag())
			if s.Build == nil {
				assert.Regexp(t, versionTag, tagged.Tag(), "%s: pin a version, not a moving tag", s.Image)
			}
		})
	}
}

// imageTag returns an image's repository (docker.io/... form) and tag.
func imageTag(t *testing.T, image string) (string, string) {
	t.Helper()
	ref, err := reference.ParseNormalizedNamed(image)
	require.NoError(t, err)
	tagged, ok := ref.(reference.Tagged)
	require.True(t, ok, "%s: no tag", image)
	return ref.Name(), tagged.Tag()
}

func TestComposeTemporalVersions(t *testing.T) {
	p := loadProject(t, nil)
	repo, server := imageTag(t, service(t, p, "temporal").Image)
	assert.Equal(t, "docker.io/temporalio/auto-setup", repo)
	assert.Regexp(t, `^1\.29\.\d+$`, server)

	// admin-tools tags start with the server version they were built for.
	for _, name := range []string{"temporal-setup", "temporal-admin-tools"} {
		repo, tag := imageTag(t, service(t, p, name).Image)
		assert.Equal(t, "docker.io/temporalio/admin-tools", repo, name)
		assert.True(t, tag == server || strings.HasPrefix(tag, server+"-"),
			"%s: admin-tools %s does not match server %s", name, tag, server)
	}

	repo, _ = imageTag(t, service(t, p, "temporal-ui").Image)
	assert.Equal(t, "docker.io/temporalio/ui", repo)
}

func findPort(s types.ServiceConfig, target uint32) (types.ServicePortConfig, bool) {
	for _, port := range s.Ports {
		if port.Target == target {
			return port, true
		}
	}
	return types.ServicePortConfig{}, false
}

func TestComposePublishedPorts(t *testing.T) {
	tests := []struct {
		service   string
		target    uint32
		published string
	}{
		{"temporal", 7233, "7233"},
		{"temporal-ui", 8080, "8233"},
		{"warehouse", 5432, "5433"},
		{"worker", 9090, "9090"},
	}
	p := loadProject(t, nil)
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			port, ok := findPort(service(t, p, tt.service), tt.target)
			require.True(t, ok, "%s: container port %d not published", tt.service, tt.target)
			assert.Equal(t, tt.published, port.Published)
			assert.Equal(t, "tcp", port.Protocol)
		})
	}
	assert.Empty(t, service(t, p, "postgresql").Ports, "only Temporal talks to its database")
}

// Temporal and its UI have no authentication in this stack: the ports bind to
// loopback unless the operator opens them on purpose.
func TestComposeBindAddress(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default is loopback", nil, "127.0.0.1"},
		{"override", map[string]string{"BLUEPRINT_BIND_ADDR": "0.0.0.0"}, "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadProject(t, tt.env)
			for _, name := range p.ServiceNames() {
				for _, port := range service(t, p, name).Ports {
					assert.Equal(t, tt.want, port.HostIP, "%s port %d", name, port.Target)
				}
			}
		})
	}
}

func TestComposeWorkerMetricsPortsForScaling(t *testing.T) {
	p := loadProject(t, map[string]string{"WORKER_METRICS_PORTS": "9090-9092"})
	port, ok := findPort(service(t, p, "worker"), 9090)
	require.True(t, ok)
	assert.Equal(t, "9090-9092", port.Published)
	assert.Empty(t, service(t, p, "worker").ContainerName, "a fixed container name breaks --scale")
}

func TestComposeDependsOn(t *testing.T) {
	tests := []struct {
		service, on, condition string
	}{
		{"temporal", "postgresql", types.ServiceConditionHealthy},
		{"temporal-setup", "temporal", types.ServiceConditionHealthy},
		{"temporal-admin-tools", "temporal", types.ServiceConditionHealthy},
		{"temporal-ui", "temporal", types.ServiceConditionHealthy},
		{"worker", "temporal-setup", types.ServiceConditionCompletedSuccessfully},
		{"worker", "warehouse", types.ServiceConditionHealthy},
	}
	p := loadProject(t, nil)
	for _, tt := range tests {
		t.Run(tt.service+"->"+tt.on, func(t *testing.T) {
			dep, ok := service(t, p, tt.service).DependsOn[tt.on]
			require.True(t, ok, "%s does not depend on %s", tt.service, tt.on)
			assert.Equal(t, tt.condition, dep.Condition)
			assert.True(t, dep.Required)
		})
	}
}

// A service_healthy dependency on a service without a healthcheck, or a
// service_completed_successfully one on a service that restarts, never
// resolves: `docker compose up` would hang or fail.
func TestComposeDependencyConditionsCanBeMet(t *testing.T) {
	p := loadProject(t, nil)
	for _, name := range p.ServiceNames() {
		for on, dep := range service(t, p, name).DependsOn {
			target := service(t, p, on)
			switch dep.Condition {
			case types.ServiceConditionHealthy:
				if assert.NotNil(t, target.HealthCheck, "%s waits for %s to be healthy", name, on) {
					assert.False(t, target.HealthCheck.Disable, "%s: healthcheck disabled", on)
					assert.NotEmpty(t, target.HealthCheck.Test, "%s: healthcheck without a test", on)
				}
			case types.ServiceConditionCompletedSuccessfully:
				assert.Contains(t, []string{"", "no", "on-failure"}, target.Restart,
					"%s waits for %s to exit", name, on)
			}
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	tests := []struct {
		service string
		command string
	}{
		{"postgresql", "pg_isready"},
		{"warehouse", "pg_isready"},
		{"temporal", "operator cluster health"},
	}
	p := loadProject(t, nil)
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			hc := service(t, p, tt.service).HealthCheck
			require.NotNil(t, hc)
			assert.False(t, hc.Disable)
			require.NotEmpty(t, hc.Test)
			assert.Contains(t, []string{"CMD", "CMD-SHELL"}, hc.Test[0])
			assert.Contains(t, strings.Join(hc.Test[1:], " "), tt.command)
			require.NotNil(t, hc.Interval)
			require.NotNil(t, hc.Retries)
			assert.Positive(t, *hc.Retries)
		})
	}
}

// mapEnv lets conn.Load read a service's environment as if it were the
// process environment.
type mapEnv map[string]string

func (e mapEnv) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e mapEnv) LookupEnv(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

func TestComposeWorker(t *testing.T) {
	root := repoRoot(t)
	p := loadProject(t, nil)
	w := service(t, p, "worker")

	require.NotNil(t, w.Build, "the worker is built from this repository")
	assert.Equal(t, root, w.Build.Context)
	assert.Equal(t, "Dockerfile", w.Build.Dockerfile)
	assert.Equal(t, "unless-stopped", w.Restart)

	env := environment(w)

	// The worker reads TEMPORAL_* through the SDK's envconfig, as conn.Load does.
	opts, settings, err := conn.Load(conn.Overrides{}, mapEnv(env))
	require.NoError(t, err)
	assert.Equal(t, "temporal:7233", opts.HostPort)
	assert.Equal(t, conn.DefaultNamespace, settings.Namespace)
	assert.False(t, settings.TLS)
	temporalPort, ok := findPort(service(t, p, "temporal"), 7233)
	require.True(t, ok)
	assert.Equal(t, fmt.Sprintf("temporal:%d", temporalPort.Target), env["TEMPORAL_ADDRESS"])

	assert.Equal(t, runinfo.TaskQueue, env["BLUEPRINT_TASK_QUEUE"])
	assert.Equal(t, "json", env["BLUEPRINT_LOG_FORMAT"])

	// The metrics listener is the port the worker publishes.
	_, metricsPort, err := net.SplitHostPort(env["BLUEPRINT_METRICS_ADDR"])
	require.NoError(t, err)
	mp, err := strconv.ParseUint(metricsPort, 10, 32)
	require.NoError(t, err)
	_, ok = findPort(w, uint32(mp))
	assert.True(t, ok, "BLUEPRINT_METRICS_ADDR port %s is not published", metricsPort)
}

// Payload encryption is a setting: without BLUEPRINT_ENCRYPTION_KEYS the
// worker does not encrypt and the codec server is not started; with it and
// the encryption profile, the worker and the codec server share the keys and
// the Web UI decrypts through the codec server, which allows the UI's origin.
func TestComposeEncryption(t *testing.T) {
	p := loadProject(t, nil)
	assert.NotContains(t, p.ServiceNames(), "codec-server", "only with --profile encryption")
	_, settings, err := conn.Load(conn.Overrides{}, mapEnv(environment(service(t, p, "worker"))))
	require.NoError(t, err)
	assert.Empty(t, settings.EncryptionKeys, "no keys: nothing is encrypted")
	assert.Empty(t, environment(service(t, p, "temporal-ui"))["TEMPORAL_CODEC_ENDPOINT"])

	const keys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	p = loadProject(t, map[string]string{"BLUEPRINT_ENCRYPTION_KEYS": keys, "BLUEPRINT_CODEC_ENDPOINT": "http://localhost:8081"}, "encryption")
	w, cs := service(t, p, "worker"), service(t, p, "codec-server")
	_, settings, err = conn.Load(conn.Overrides{}, mapEnv(environment(w)))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1"}, settings.EncryptionKeys, "the worker encrypts")
	assert.Equal(t, keys, environment(cs)["BLUEPRINT_ENCRYPTION_KEYS"], "the codec server has the worker's keys")
	assert.Equal(t, w.Image, cs.Image, "the codec server is the blueprint CLI of the worker's image")
	assert.Equal(t, types.ShellCommand{"/usr/local/bin/blueprint"}, cs.Entrypoint)
	assert.Equal(t, types.ShellCommand{"codec-server", "--listen", "0.0.0.0:8081", "--ui-origin", "http://localhost:8233"}, cs.Command)
	port, ok := findPort(cs, 8081)
	require.True(t, ok)
	assert.Equal(t, "8081", port.Published)
	assert.Equal(t, "127.0.0.1", port.HostIP)
	ui, ok := findPort(service(t, p, "temporal-ui"), 8080)
	require.True(t, ok)
	assert.Equal(t, "http://localhost:"+ui.Published, environment(service(t, p, "temporal-ui"))["TEMPORAL_CORS_ORIGINS"],
		"the codec server's --ui-origin is the Web UI's origin")
	assert.Equal(t, "http://localhost:"+port.Published, environment(service(t, p, "temporal-ui"))["TEMPORAL_CODEC_ENDPOINT"])
}

func TestComposeWorkerTaskQueueOverride(t *testing.T) {
	p := loadProject(t, map[string]string{"BLUEPRINT_TASK_QUEUE": "gpu-pool"})
	assert.Equal(t, "gpu-pool", environment(service(t, p, "worker"))["BLUEPRINT_TASK_QUEUE"])
}

// Passwords come from the environment, and each pair of services that must
// agree on one gets the same value: a typo here is a stack that never starts.
func TestComposeCredentials(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		temporalPassword string
		warehousePasswd  string
	}{
		{"defaults", nil, "temporal", "blueprint"},
		{"from the environment", map[string]string{
			"POSTGRES_PASSWORD":  "t-s3cret",
			"WAREHOUSE_PASSWORD": "w-s3cret",
		}, "t-s3cret", "w-s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadProject(t, tt.env)
			pg := environment(service(t, p, "postgresql"))
			tmp := environment(service(t, p, "temporal"))
			wh := environment(service(t, p, "warehouse"))
			worker := environment(service(t, p, "worker"))

			// Temporal reaches its database by service name, as its user.
			assert.Equal(t, tt.temporalPassword, pg["POSTGRES_PASSWORD"])
			assert.Equal(t, pg["POSTGRES_PASSWORD"], tmp["POSTGRES_PWD"])
			assert.Equal(t, pg["POSTGRES_USER"], tmp["POSTGRES_USER"])
			assert.Equal(t, "postgres12", tmp["DB"])
			assert.Equal(t, "postgresql", tmp["POSTGRES_SEEDS"])
			assert.Contains(t, p.ServiceNames(), tmp["POSTGRES_SEEDS"])

			// The worker's database URL names the warehouse service and its
			// database, user and password, and the pgx driver accepts it.
			raw := worker["BLUEPRINT_DATABASE_URL"]
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Contains(t, []string{"postgres", "postgresql"}, u.Scheme)
			assert.Equal(t, "warehouse", u.Hostname())
			pass, _ := u.User.Password()
			assert.Equal(t, tt.warehousePasswd, pass)
			assert.Equal(t, wh["POSTGRES_PASSWORD"], pass)

			cfg, err := pgx.ParseConfig(raw)
			require.NoError(t, err)
			assert.Equal(t, "warehouse", cfg.Host)
			_, ok := findPort(service(t, p, "warehouse"), uint32(cfg.Port))
			assert.True(t, ok, "port %d is not the warehouse's", cfg.Port)
			assert.Equal(t, wh["POSTGRES_DB"], cfg.Database)
			assert.Equal(t, "warehouse", cfg.Database)
			assert.Equal(t, wh["POSTGRES_USER"], cfg.User)
		})
	}
}

// Compose files go to version control; a password in one is a leak.
func TestComposeHasNoLiteralPasswords(t *testing.T) {
	p := loadProject(t, map[string]string{
		"POSTGRES_PASSWORD":  "from-env-1",
		"WAREHOUSE_PASSWORD": "from-env-2",
	})
	for _, name := range p.ServiceNames() {
		for k, v := range environment(service(t, p, name)) {
			if strings.Contains(k, "PASSWORD") || strings.HasSuffix(k, "_PWD") {
				assert.Contains(t, []string{"from-env-1", "from-env-2"}, v, "%s: %s is not from the environment", name, k)
			}
		}
	}
}

func TestComposeVolumes(t *testing.T) {
	root := repoRoot(t)
	p := loadProject(t, nil)

	// Every file mounted from the repository exists and stays inside it.
	for _, name := range p.ServiceNames() {
		for _, v := range service(t, p, name).Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			assert.FileExists(t, v.Source, "%s mounts %s", name, v.Source)
			rel, err := filepath.Rel(root, v.Source)
			require.NoError(t, err)
			assert.False(t, strings.HasPrefix(rel, ".."), "%s mounts %s from outside the repository", name, v.Source)
			assert.True(t, v.ReadOnly, "%s: mount %s read-only", name, v.Source)
		}
	}

	// The databases keep their data in named volumes.
	for _, name := range []string{"postgresql", "warehouse"} {
		s := service(t, p, name)
		i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Target == "/var/lib/postgresql/data"
		})
		require.GreaterOrEqual(t, i, 0, "%s: no data volume", name)
		v := s.Volumes[i]
		assert.Equal(t, types.VolumeTypeVolume, v.Type, name)
		assert.Contains(t, p.Volumes, v.Source, name)
	}
}

// mountedFile returns the repository file a service mounts at target.
func mountedFile(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target })
	require.GreaterOrEqual(t, i, 0, "%s: nothing mounted at %s", s.Name, target)
	require.Equal(t, types.VolumeTypeBind, s.Volumes[i].Type)
	return s.Volumes[i].Source
}

// dynamicConfig is Temporal's dynamic config file format.
type dynamicConfig map[string][]struct {
	Value       any            `yaml:"value"`
	Constraints map[string]any `yaml:"constraints"`
}

// The compose server gets the same low-latency settings as the dev server that
// every test and the demo run on, so the numbers measured there hold here.
func TestTemporalDynamicConfig(t *testing.T) {
	p := loadProject(t, nil)
	tmp := service(t, p, "temporal")
	path := environment(tmp)["DYNAMIC_CONFIG_FILE_PATH"]
	require.True(t, filepath.IsAbs(path), "DYNAMIC_CONFIG_FILE_PATH %q: relative paths depend on the image's working directory", path)
	file := mountedFile(t, tmp, path)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var dc dynamicConfig
	require.NoError(t, yaml.Unmarshal(data, &dc))

	want := map[string]string{}
	for i, arg := range devserver.TunedArgs {
		if arg == "--dynamic-config-value" {
			require.Less(t, i+1, len(devserver.TunedArgs))
			k, v, ok := strings.Cut(devserver.TunedArgs[i+1], "=")
			require.True(t, ok)
			want[k] = v
		}
	}
	require.Len(t, want, 4)
	for _, key := range []string{
		"history.transferProcessorMaxPollRPS",
		"history.timerProcessorMaxPollRPS",
		"matching.numTaskqueueReadPartitions",
		"matching.numTaskqueueWritePartitions",
	} {
		require.Contains(t, want, key, "devserver.TunedArgs changed: update this test and %s", file)
	}
	for key, value := range want {
		t.Run(key, func(t *testing.T) {
			entries, ok := dc[key]
			require.True(t, ok, "%s misses %s", file, key)
			require.Len(t, entries, 1)
			assert.Equal(t, value, fmt.Sprint(entries[0].Value))
			assert.Empty(t, entries[0].Constraints, "applies to every namespace and task queue")
		})
	}
}

// setupScript returns the script the temporal-setup service runs.
func setupScript(t *testing.T) string {
	t.Helper()
	p := loadProject(t, nil)
	s := service(t, p, "temporal-setup")
	require.NotEmpty(t, s.Entrypoint)
	assert.Equal(t, "/bin/sh", s.Entrypoint[0])
	return mountedFile(t, s, s.Entrypoint[len(s.Entrypoint)-1])
}

// startServer starts a dev server with the given search attributes (none:
// the state a fresh compose stack is in).
func startServer(t *testing.T, attrs temporal.SearchAttributes) *devserver.Server {
	t.Helper()
	srv, err := devserver.Start(context.Background(), devserver.Options{SearchAttributes: &attrs})
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
	})
	return srv
}

// runSetup runs the setup script with the temporal CLI of ./bin on PATH and
// no TEMPORAL_* from the test's own environment.
func runSetup(t *testing.T, script, address string) (string, error) {
	t.Helper()
	bin, err := devserver.Binary()
	require.NoError(t, err)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TEMPORAL_ADDRESS="+address,
		"TEMPORAL_NAMESPACE="+conn.DefaultNamespace,
		"SETUP_ATTEMPTS=3",
		"SETUP_INTERVAL=1",
	)
	// A guard against a hung CLI, not a performance assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func searchAttributeType(t *testing.T, srv *devserver.Server, name string) enumspb.IndexedValueType {
	t.Helper()
	resp, err := srv.Client().OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: conn.DefaultNamespace})
	require.NoError(t, err)
	return resp.GetCustomAttributes()[name]
}

// blueprintAttributes are the search attributes setup.sh registers.
var blueprintAttributes = []string{runinfo.DeploymentSearchAttribute, runinfo.RetryOfSearchAttribute}

func TestTemporalSetupScript(t *testing.T) {
	script := setupScript(t)

	t.Run("registers the search attributes, and again is a no-op", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, temporal.SearchAttributes{})
		for _, name := range blueprintAttributes {
			require.Equal(t, enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, searchAttributeType(t, srv, name))
		}

		for run := 1; run <= 2; run++ {
			out, err := runSetup(t, script, srv.FrontendHostPort())
			require.NoError(t, err, "run %d:\n%s", run, out)
			for _, name := range blueprintAttributes {
				assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, searchAttributeType(t, srv, name), "%s, run %d", name, run)
			}
		}
	})

	t.Run("registers the one that is missing", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, temporal.NewSearchAttributes(
			runinfo.DeploymentKey.ValueSet("")))
		require.Equal(t, enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, searchAttributeType(t, srv, runinfo.RetryOfSearchAttribute))
		out, err := runSetup(t, script, srv.FrontendHostPort())
		require.NoError(t, err, out)
		for _, name := range blueprintAttributes {
			assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, searchAttributeType(t, srv, name), name)
		}
	})

	t.Run("refuses an attribute of another type", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyInt64(runinfo.DeploymentSearchAttribute).ValueSet(0)))
		out, err := runSetup(t, script, srv.FrontendHostPort())
		require.Error(t, err, out)
		assert.Contains(t, out, "blueprint needs Keyword")
		assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, searchAttributeType(t, srv, runinfo.DeploymentSearchAttribute))
	})

	t.Run("gives up on an unreachable server", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close()) // a port nothing listens on
		out, err := runSetup(t, script, addr)
		require.Error(t, err, out)
		assert.Contains(t, out, "gave up waiting for the server")
	})
}

// stage is one stage of a Dockerfile.
type stage struct {
	from  string   // the FROM line's arguments
	instr []string // the other instructions, continuation lines joined
}

// parseDockerfile splits a Dockerfile into stages; enough for the checks
// below, not a full parser (no heredocs, no escape directive).
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		stages []stage
		cur    strings.Builder
	)
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if kw, rest, _ := strings.Cut(line, " "); strings.EqualFold(kw, "FROM") {
			stages = append(stages, stage{from: strings.TrimSpace(rest)})
			return
		}
		require.NotEmpty(t, stages, "instruction before FROM: %s", line)
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, line)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	require.NoError(t, sc.Err())
	flush()
	return stages
}

// index returns the position of the first instruction matching re, or -1.
func (s stage) index(re string) int {
	r := regexp.MustCompile(re)
	return slices.IndexFunc(s.instr, r.MatchString)
}

// goDirective reads the go line of go.mod.
func goDirective(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindSubmatch(data)
	require.NotNil(t, m, "go.mod has no go line")
	return string(m[1])
}

// versionAtLeast compares dotted decimal versions (1.26 < 1.26.8 < 1.27).
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range max(len(h), len(w)) {
		var a, b int
		if i < len(h) {
			a, _ = strconv.Atoi(h[i])
		}
		if i < len(w) {
			b, _ = strconv.Atoi(w[i])
		}
		if a != b {
			return a > b
		}
	}
	return true
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		have, want string
		ok         bool
	}{
		{"1.26.8", "1.26.8", true},
		{"1.26.9", "1.26.8", true},
		{"1.27", "1.26.8", true},
		{"1.26", "1.26.8", false},
		{"1.26.7", "1.26.8", false},
		{"1.9", "1.26", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, versionAtLeast(tt.have, tt.want), "%s >= %s", tt.have, tt.want)
	}
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	require.GreaterOrEqual(t, len(stages), 2, "multi-stage: build with Go, run without it")

	build, final := stages[0], stages[len(stages)-1]

	t.Run("build stage", func(t *testing.T) {
		fields := strings.Fields(build.from)
		require.Len(t, fields, 3, "FROM <image> AS <name>: %s", build.from)
		repo, tag := imageTag(t, fields[0])
		assert.Equal(t, "docker.io/library/golang", repo)
		goVersion, _, _ := strings.Cut(tag, "-")
		assert.True(t, versionAtLeast(goVersion, goDirective(t, root)),
			"builder Go %s is older than go.mod's %s", goVersion, goDirective(t, root))

		// Modules are downloaded in their own layer, before the source arrives.
		copyMod := build.index(`^COPY\s+go\.mod\s+go\.sum\s+\./?$`)
		download := build.index(`^RUN\s.*go mod download`)
		copySrc := build.index(`^COPY\s+\.\s+\.`)
		require.GreaterOrEqual(t, copyMod, 0, "COPY go.mod go.sum ./")
		require.GreaterOrEqual(t, download, 0, "RUN go mod download")
		require.GreaterOrEqual(t, copySrc, 0, "COPY . .")
		assert.Less(t, copyMod, download)
		assert.Less(t, download, copySrc)

		// Both binaries are static builds.
		for pkg, out := range map[string]string{"./worker": "blueprint-worker", "./cmd/blueprint": "blueprint"} {
			found := false
			for _, in := range build.instr {
				for cmd := range strings.SplitSeq(in, "&&") {
					if strings.Contains(cmd, "go build") && strings.HasSuffix(strings.TrimSpace(cmd), " "+pkg) {
						found = true
						assert.Contains(t, cmd, "CGO_ENABLED=0", pkg)
						assert.Contains(t, cmd, "-trimpath", pkg)
						assert.Contains(t, cmd, "/out/"+out+" ", pkg)
					}
				}
			}
			assert.True(t, found, "no go build of %s", pkg)
		}
	})

	t.Run("final stage", func(t *testing.T) {
		fields := strings.Fields(final.from)
		require.NotEmpty(t, fields)
		repo, tag := imageTag(t, fields[0])
		assert.Equal(t, "gcr.io/distroless/static-debian12", repo)
		assert.Equal(t, "nonroot", tag)

		users := []string{}
		for _, in := range final.instr {
			if kw, rest, _ := strings.Cut(in, " "); kw == "USER" {
				users = append(users, strings.TrimSpace(rest))
			}
		}
		require.NotEmpty(t, users, "the final stage sets USER")
		user, _, _ := strings.Cut(users[len(users)-1], ":")
		assert.Equal(t, "nonroot", user)

		entry := final.index(`^ENTRYPOINT\s+\[`)
		require.GreaterOrEqual(t, entry, 0, "exec-form ENTRYPOINT (there is no shell)")
		assert.Contains(t, final.instr[entry], `"/usr/local/bin/blueprint-worker"`)
		assert.GreaterOrEqual(t, final.index(`^COPY\s+--from=`+regexp.QuoteMeta(strings.Fields(build.from)[2])+`\s`), 0)
		assert.GreaterOrEqual(t, final.index(`^EXPOSE\s+9090$`), 0)
	})
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	require.NoError(t, err)
	patterns := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		patterns[strings.Trim(line, "/")] = true
	}
	for _, p := range []string{".git", "bin", "data", ".data"} {
		assert.True(t, patterns[p], ".dockerignore should exclude %s", p)
	}
	// The build needs these; excluding one fails `docker build`.
	for _, p := range []string{"go.mod", "go.sum", "worker", "cmd", "internal", "*", "**"} {
		assert.False(t, patterns[p], ".dockerignore must not exclude %s", p)
	}
}
