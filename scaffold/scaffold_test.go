package scaffold_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/toilhq/toil/layout"
	"github.com/toilhq/toil/scaffold"
	"github.com/toilhq/toil/templates"
)

func file(t *testing.T, files []scaffold.File, path string) string {
	t.Helper()
	for _, f := range files {
		if f.Path == path {
			return string(f.Data)
		}
	}
	t.Fatalf("no %s among the rendered files", path)
	return ""
}

func TestRenderRenamesWithGoAST(t *testing.T) {
	t.Parallel()
	files, err := scaffold.Render(scaffold.Spec{Name: "billing", Module: "example.com/team/billing", Template: "http",
		Vars: map[string]string{"service": "Invoicer"}, ToilSource: "/src/toil"})
	if err != nil {
		t.Fatal(err)
	}
	src := file(t, files, "billing/server.go")
	for _, want := range []string{
		"package billing\n",
		"// Package billing is an HTTP service: `toil run billing.invoicer` serves it",
		"TOIL_BILLING_INVOICER_*",
		"type Invoicer struct {",
		"func (s *Invoicer) Setup(ctx context.Context) error {",
		`s.HTTP.HandleFunc("GET /greet/{name}", s.greet)`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("billing/server.go lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "hello.") || strings.Contains(src, "Server") {
		t.Errorf("billing/server.go still names the template's hello or Server:\n%s", src)
	}
	test := file(t, files, "billing/server_test.go")
	if !strings.Contains(test, "toiltest.Run(t, &Invoicer{}") || !strings.Contains(test, "package billing\n") {
		t.Errorf("billing/server_test.go not renamed:\n%s", test)
	}
	mod := file(t, files, "go.mod")
	for _, want := range []string{"module example.com/team/billing\n", "require github.com/toilhq/toil v0.0.0\n", "replace github.com/toilhq/toil => /src/toil\n"} {
		if !strings.Contains(mod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, mod)
		}
	}
	if got := file(t, files, ".toil/template.yaml"); !strings.Contains(got, "template: http") || !strings.Contains(got, "service: Invoicer") || !strings.Contains(got, "version: 1") {
		t.Errorf(".toil/template.yaml:\n%s", got)
	}
}

// The function template's service is Run: only the service is renamed,
// never toiltest.Run beside it.
func TestRenderKeepsOtherPackagesNames(t *testing.T) {
	t.Parallel()
	files, err := scaffold.Render(scaffold.Spec{Name: "report", Template: "func", Vars: map[string]string{"service": "Daily"}})
	if err != nil {
		t.Fatal(err)
	}
	test := file(t, files, "report/run_test.go")
	if !strings.Contains(test, "toiltest.Run(t, Daily,") {
		t.Errorf("report/run_test.go:\n%s", test)
	}
	if !strings.Contains(file(t, files, "report/run.go"), "func Daily(ctx context.Context, s *toil.S) error") {
		t.Errorf("report/run.go not renamed")
	}
}

// Every template's toil.yaml is one toil dev accepts, naming the service by
// what toil run takes.
func TestRenderedLayoutsParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tmpl, module, run string }{
		{"http", "example.com/x/svc", "svc.server"},
		{"worker", "", "svc.worker"}, // module svc: toil run still finds svc/
		{"func", "svc2", "svc.run"},
		{"consumer", "", "svc.consumer"},
		{"pipeline", "", "svc.ingest"},
	} {
		files, err := scaffold.Render(scaffold.Spec{Name: "svc", Module: tc.module, Template: tc.tmpl})
		if err != nil {
			t.Fatal(err)
		}
		data := file(t, files, "toil.yaml")
		if _, err := layout.Parse("toil.yaml", []byte(data)); err != nil {
			t.Fatalf("%s: toil.yaml does not parse: %v\n%s", tc.tmpl, err, data)
		}
		if !strings.Contains(data, "run: "+tc.run+"\n") {
			t.Errorf("%s: toil.yaml does not run %s:\n%s", tc.tmpl, tc.run, data)
		}
		if readme := file(t, files, "README.md"); !strings.Contains(readme, "toil run "+tc.run) {
			t.Errorf("%s: README lacks toil run %s:\n%s", tc.tmpl, tc.run, readme)
		}
	}
}

// --with adds each mixin's field to the service's struct, its section of
// toil.config.yaml under the service's name, its backing system to
// toil.yaml, and its test, which fieldsConfig calls for every test of the
// service.
func TestRenderWith(t *testing.T) {
	t.Parallel()
	files, err := scaffold.Render(scaffold.Spec{Name: "jobs", Template: "consumer", With: []string{"sql,redis", "queue", "redis"}})
	if err != nil {
		t.Fatal(err)
	}
	src := file(t, files, "jobs/consumer.go")
	for _, want := range []string{"\tRedis redis.Client\n", "\tOut   queue.Publisher[Job]\n", "\tDB    sqldb.DB\n",
		`"github.com/toilhq/toil/redis"`, `"github.com/toilhq/toil/sqldb"`} {
		if !strings.Contains(src, want) {
			t.Errorf("jobs/consumer.go lacks %q:\n%s", want, src)
		}
	}
	if test := file(t, files, "jobs/consumer_test.go"); !strings.Contains(test, "return redisConfig(t) + outConfig(t) + dbConfig(t)") {
		t.Errorf("fieldsConfig does not call the mixins' configs:\n%s", test)
	}
	if q := file(t, files, "jobs/queue_test.go"); !strings.Contains(q, "queue.Consumer[Job]") || strings.Contains(q, "Event") {
		t.Errorf("jobs/queue_test.go does not publish the template's Job:\n%s", q)
	}
	for _, f := range files {
		if f.Path == "jobs/event.go" {
			t.Errorf("event.go added to a template with a message type of its own")
		}
	}
	var cfg map[string]map[string]any
	data := file(t, files, "toil.config.yaml")
	if err := yaml.Unmarshal([]byte(data), &cfg); err != nil {
		t.Fatalf("toil.config.yaml: %v\n%s", err, data)
	}
	for _, key := range []string{"prefix", "in", "redis", "out", "db"} {
		if _, ok := cfg["jobs-consumer"][key]; !ok {
			t.Errorf("toil.config.yaml has no jobs-consumer.%s:\n%s", key, data)
		}
	}
	lay, err := layout.Parse("toil.yaml", []byte(file(t, files, "toil.yaml")))
	if err != nil {
		t.Fatalf("toil.yaml: %v", err)
	}
	if lay.BackingNamed("redis") == nil || lay.BackingNamed("nats") == nil || len(lay.Backing) != 2 {
		t.Errorf("backing = %v, want redis and nats", lay.Backing)
	}
	if tf := file(t, files, ".toil/template.yaml"); !strings.Contains(tf, "with:\n    - redis\n    - queue\n    - sql\n") {
		t.Errorf(".toil/template.yaml does not record --with:\n%s", tf)
	}

	// The http template has no message type: Event comes with the queue.
	files, err = scaffold.Render(scaffold.Spec{Name: "web", Template: "http", With: []string{"queue"}})
	if err != nil {
		t.Fatal(err)
	}
	if ev := file(t, files, "web/event.go"); !strings.Contains(ev, "type Event struct") {
		t.Errorf("web/event.go:\n%s", ev)
	}
}

func TestRenderWithBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tmpl string
		with []string
		want string
	}{
		{"http", []string{"redis,kafka"}, `--with kafka: unknown mixin "kafka"; choose from redis, queue, sql`},
		{"func", []string{"sql"}, "--with sql: the func template's service is a function"},
	} {
		_, err := scaffold.Render(scaffold.Spec{Name: "svc", Template: tc.tmpl, With: tc.with})
		var ie *scaffold.InputError
		if !errors.As(err, &ie) || ie.Flag != "--with" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Render(%s --with %v) = %v, want an InputError for --with containing %q", tc.tmpl, tc.with, err, tc.want)
		}
	}
}

func TestPlanAndCommitNeverOverwrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "svc")
	files := []scaffold.File{
		{Path: "a.txt", Data: []byte("a"), Mode: 0o644},
		{Path: "sub/b.txt", Data: []byte("b"), Mode: 0o644},
		{Path: "c.txt", Data: []byte("c"), Mode: 0o644},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("mine"), 0o644)

	if _, err := scaffold.Plan(dir, files, false); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Plan without force = %v, want a not-empty error", err)
	}
	plan, err := scaffold.Plan(dir, files, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]scaffold.Action{}
	for _, e := range plan {
		got[e.Path] = e.Action
	}
	want := map[string]scaffold.Action{"a.txt": scaffold.Identical, "sub/b.txt": scaffold.Create, "c.txt": scaffold.Conflict}
	for p, a := range want {
		if got[p] != a {
			t.Errorf("%s: %s, want %s", p, got[p], a)
		}
	}
	staged, err := scaffold.Stage(t.Context(), dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := scaffold.Commit(staged, dir, plan); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "c.txt")); string(b) != "mine" {
		t.Errorf("c.txt = %q: a conflicting file was overwritten", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub/b.txt")); string(b) != "b" {
		t.Errorf("sub/b.txt = %q, want it created", b)
	}
	if _, err := os.Stat(staged); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staged dir %s is left behind", staged)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("beside the target: %v, want only the target", ents)
	}
}

func TestCommitRenamesIntoEmptyDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []scaffold.File{{Path: "x/y.txt", Data: []byte("y"), Mode: 0o644}}
	plan, err := scaffold.Plan(dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := scaffold.Stage(t.Context(), dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := scaffold.Commit(staged, dir, plan); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x", "y.txt")); err != nil || string(b) != "y" {
		t.Errorf("x/y.txt = %q, %v", b, err)
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"billing": "",
		"svc2":    "",
		"":        "a name is needed",
		"my-svc":  "not a Go identifier",
		"range":   "Go keyword",
		"../x":    "is a path",
		"/abs":    "is a path",
		"Billing": "lowercase",
		"my_svc":  "lowercase",
		"main":    "main package cannot be imported",
	} {
		err := scaffold.CheckName(name)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}

// A service renamed onto a name the template declares would not compile.
func TestRenderRefusesATakenServiceName(t *testing.T) {
	t.Parallel()
	_, err := scaffold.Render(scaffold.Spec{Name: "billing", Template: "http", Vars: map[string]string{"service": "Config"}})
	if err == nil || !strings.Contains(err.Error(), "the http template already declares Config") {
		t.Fatalf("Render = %v, want a refusal naming Config", err)
	}
	_, err = scaffold.Render(scaffold.Spec{Name: "billing", Template: "func", Vars: map[string]string{"service": "TestRunGreets"}})
	if err == nil || !strings.Contains(err.Error(), "already declares TestRunGreets") {
		t.Fatalf("Render = %v, want a refusal naming TestRunGreets", err)
	}
}

// ciSteps returns the run: lines of the generated CI workflow's test job.
func ciSteps(t *testing.T, files []scaffold.File) []string {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(file(t, files, ".github/workflows/ci.yml")), &wf); err != nil {
		t.Fatalf("ci.yml does not parse: %v", err)
	}
	var runs []string
	for _, s := range wf.Jobs["test"].Steps {
		if s.Run != "" {
			runs = append(runs, s.Run)
		}
	}
	return runs
}

// Under CI a missing redis-server fails the --with redis test rather than
// skipping it, so the workflow installs it before go test; without a field
// that needs a server, CI installs nothing.
func TestRenderCIInstallsTestServers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		with    []string
		install bool
	}{
		{nil, false},
		{[]string{"queue", "sql"}, false}, // NATS runs in the test, SQLite is a file
		{[]string{"redis"}, true},
		{[]string{"sql,redis,queue"}, true},
	} {
		files, err := scaffold.Render(scaffold.Spec{Name: "billing", Template: "worker", With: tc.with})
		if err != nil {
			t.Fatal(err)
		}
		runs := ciSteps(t, files)
		install, test := -1, -1
		for i, r := range runs {
			if strings.Contains(r, "apt-get install") && strings.Contains(r, "redis-server") && install < 0 {
				install = i
			}
			if r == "go test ./..." {
				test = i
			}
		}
		switch {
		case test < 0:
			t.Errorf("--with %v: ci.yml runs no go test ./...: %q", tc.with, runs)
		case tc.install && (install < 0 || install > test):
			t.Errorf("--with %v: ci.yml does not apt-get install redis-server before go test: %q", tc.with, runs)
		case !tc.install && slices.ContainsFunc(runs, func(r string) bool { return strings.Contains(r, "apt-get") }):
			t.Errorf("--with %v: ci.yml installs packages no test needs: %q", tc.with, runs)
		}
	}
}

// toil run X --help is toil run's own help; the service's keys need
// toil run X -- --help.
func TestRenderConfigPointsAtTheServiceHelp(t *testing.T) {
	t.Parallel()
	for _, tmpl := range templates.All {
		files, err := scaffold.Render(scaffold.Spec{Name: "demo", Template: tmpl.Name})
		if err != nil {
			t.Fatal(err)
		}
		want := "toil run " + scaffold.RunName("demo", tmpl.Service) + " -- --help"
		if cfg := file(t, files, "toil.config.yaml"); !strings.Contains(cfg, want) {
			t.Errorf("%s: toil.config.yaml does not say %q:\n%s", tmpl.Name, want, cfg)
		}
	}
}

// The Config doc names the section the service reads, its toil.yaml name,
// after the package and the service are renamed; never the old pkg.service.
func TestRenderConfigDocNamesTheSection(t *testing.T) {
	t.Parallel()
	for _, tmpl := range templates.All {
		for _, service := range []string{"", "Billing"} {
			spec := scaffold.Spec{Name: "demo", Template: tmpl.Name}
			svc := tmpl.Service
			if service != "" {
				spec.Vars, svc = map[string]string{"service": service}, service
			}
			files, err := scaffold.Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			var src string
			for _, f := range files {
				if strings.HasPrefix(f.Path, "demo/") && !strings.HasSuffix(f.Path, "_test.go") {
					src += string(f.Data)
				}
			}
			// A sentence may wrap: compare the words.
			src = strings.Join(strings.Fields(strings.ReplaceAll(src, "//", " ")), " ")
			key := scaffold.LayoutKey("demo", svc)
			env := "TOIL_DEMO_" + strings.ToUpper(svc) + "_*"
			if !strings.Contains(src, "keyed by its name in toil.yaml") || !strings.Contains(src, key) || !strings.Contains(src, env) {
				t.Errorf("%s, service %s: the Config doc does not name section %s and %s:\n%s", tmpl.Name, svc, key, env, src)
			}
			if old := "under " + scaffold.RunName("demo", svc); strings.Contains(src, old) {
				t.Errorf("%s, service %s: a doc still says %q, a section toil run no longer reads", tmpl.Name, svc, old)
			}
		}
	}
}

// inEndpoint returns the in: of the service's section of toil.config.yaml.
func inEndpoint(t *testing.T, config, section string) map[string]string {
	t.Helper()
	var cfg map[string]map[string]any
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatalf("toil.config.yaml does not parse: %v\n%s", err, config)
	}
	in, ok := cfg[section]["in"].(map[string]any)
	if !ok {
		t.Fatalf("toil.config.yaml has no %s.in:\n%s", section, config)
	}
	out := map[string]string{}
	for k, v := range in {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// With --with queue toil.yaml runs NATS and out: publishes to it, so in:
// reads it too (toil dev gives NATS_URL): on mem:// the service would
// consume nothing the other services publish. Without it, in: stays on
// mem://, which runs with no server.
func TestRenderQueueInputSharesTheBus(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{"consumer", "pipeline"} {
		t.Run(tmpl, func(t *testing.T) {
			t.Parallel()
			tm, _ := templates.Lookup(tmpl)
			section := scaffold.LayoutKey("demo", tm.Service)
			files, err := scaffold.Render(scaffold.Spec{Name: "demo", Template: tmpl, With: []string{"queue"}})
			if err != nil {
				t.Fatal(err)
			}
			in := inEndpoint(t, file(t, files, "toil.config.yaml"), section)
			if in["backend"] != "nats" || in["url"] != "" {
				t.Errorf("--with queue: in: %v, want backend nats and no url", in)
			}
			if readme := file(t, files, "README.md"); !strings.Contains(readme, "Without `NATS_URL` toil run stops") {
				t.Errorf("--with queue: README does not say toil run needs NATS_URL:\n%s", readme)
			}
			files, err = scaffold.Render(scaffold.Spec{Name: "demo", Template: tmpl})
			if err != nil {
				t.Fatal(err)
			}
			if in := inEndpoint(t, file(t, files, "toil.config.yaml"), section); !strings.HasPrefix(in["url"], "mem://") || in["backend"] != "" {
				t.Errorf("no --with: in: %v, want a mem:// url", in)
			}
		})
	}
}
