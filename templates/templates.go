// Package templates holds the templates of `toil new`. Each template is a
// directory of real Go packages that build, vet and pass their tests as
// part of toil's own `go test ./...`; package scaffold renders one into a
// new module by rewriting its package name, its service's identifier and
// its import paths with go/ast. files/ holds the non-Go files every
// generated module gets, as text/template sources.
//
// In every template the package is hello (directory hello/) and the
// service identifier is the one Service names, so the renderer knows what
// to rename. A template's toil.config.yaml.tmpl is rendered with
// text/template into the new module's toil.config.yaml.
//
// mixins/ holds what --with adds: per mixin, the test of its field (real
// Go, beside a standin_test.go that plays the template's service and is never
// copied) and config.yaml.tmpl, its section of toil.config.yaml. A
// template's test declares testConfig(testing.TB) string, the config its
// service needs to run in a test, and fieldsConfig(testing.TB) string, the
// config of its mixin fields, which toil new makes call each mixin's.
package templates

import "embed"

// FS holds the templates: func/, worker/, http/, consumer/, pipeline/,
// mixins/ and files/.
//
//go:embed func worker http consumer pipeline mixins files
var FS embed.FS

// Template describes one template of `toil new`.
type Template struct {
	Name    string // the --template value and the directory in FS
	Summary string // one line for --help
	Service string // the service's identifier in the template's Go code
	Listens bool   // it serves HTTP, so toil.yaml gives it a listen address
	// Func is set when the service is a function: it has no fields, so
	// --with cannot add any.
	Func bool
	// Message is the type of the template's messages, which --with queue
	// publishes; "" adds Event (mixins/queue/hello/event.go).
	Message string
}

// Package is the package name (and directory) of every template's Go code.
const Package = "hello"

// ImportRoot is the import path of a template's directory inside toil's
// module; the renderer replaces it with the new module's path.
func ImportRoot(tmpl string) string { return "github.com/toilhq/toil/templates/" + tmpl }

// Version is recorded in .toil/template.yaml; bump it when a template's
// output changes, so a later `toil update` knows what it generated.
const Version = 1

// All lists the templates, the default first.
var All = []Template{
	{Name: "http", Summary: "an HTTP server on the toil.HTTP mixin", Service: "Server", Listens: true},
	{Name: "worker", Summary: "a struct with a Run loop, stopped on SIGTERM", Service: "Worker"},
	{Name: "func", Summary: "a plain function service that runs once", Service: "Run", Func: true},
	{Name: "consumer", Summary: "a queue consumer: OnMessage for each message of a topic", Service: "Consumer", Message: "Job"},
	{Name: "pipeline", Summary: "a queue-fed pipeline: parse, compute, publish to a file", Service: "Ingest", Message: "Event"},
}

// Lookup returns the template called name.
func Lookup(name string) (Template, bool) {
	for _, t := range All {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// Mixin is what --with adds to a struct service: a named field, its test
// against a real server, its config and the backing system toil.yaml runs.
type Mixin struct {
	Name    string // the --with value and the directory under mixins/
	Summary string // one line for --help
	Field   string // the field's name, which is also its config key (lower-cased)
	Import  string // the package of the field's type
	// Type is the field's type; %s stands for the message type.
	Type string
	// TestConfig is the function of the mixin's test file that gives the
	// field's config in a test; the template's fieldsConfig calls it.
	TestConfig string
	// Backing is the toil.yaml backing entry the field's server needs, by
	// name, as YAML; "" for none.
	BackingName, Backing string
	// Env is the variable toil dev sets to the backing's URL, which toil
	// run needs set by hand; "" for none.
	Env string
	// Apt is the Debian package of the server the field's test starts,
	// which the generated CI installs: under CI a missing server fails the
	// test rather than skipping it. "" when the test needs none (NATS runs
	// in the test process).
	Apt string
}

// Mixins lists the --with options.
var Mixins = []Mixin{
	{Name: "redis", Summary: "a Redis client (redis.Client), redis-server in toil dev",
		Field: "Redis", Import: "github.com/toilhq/toil/redis", Type: "redis.Client", TestConfig: "redisConfig",
		BackingName: "redis", Backing: `{cmd: "redis-server --port {port} --save ''", fallback: embedded}`,
		Env: "REDIS_URL", Apt: "redis-server"},
	{Name: "queue", Summary: "a NATS JetStream publisher (queue.Publisher), embedded NATS in toil dev",
		Field: "Out", Import: "github.com/toilhq/toil/queue", Type: "queue.Publisher[%s]", TestConfig: "outConfig",
		BackingName: "nats", Backing: `{embedded: nats}`, Env: "NATS_URL"},
	{Name: "sql", Summary: "a SQL database (sqldb.DB): an SQLite file unless DATABASE_URL says Postgres",
		Field: "DB", Import: "github.com/toilhq/toil/sqldb", Type: "sqldb.DB", TestConfig: "dbConfig"},
}

// LookupMixin returns the mixin called name.
func LookupMixin(name string) (Mixin, bool) {
	for _, m := range Mixins {
		if m.Name == name {
			return m, true
		}
	}
	return Mixin{}, false
}
