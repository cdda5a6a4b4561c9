// Package toil is a framework for Go services: a function or a struct gets
// typed config with live reload, feature switches, structured logs,
// Prometheus metrics, an admin endpoint and the systemd worker protocol,
// and runs the same under `toil run`, `toil dev`, systemd or Kubernetes.
//
// # Services
//
// A function service is the whole program:
//
//	func World(ctx context.Context, s *toil.S) error {
//		s.Log.Info("hello world", "greeting", s.Config.String("greeting"))
//		return nil
//	}
//
//	func main() { toil.Main("hello.world", hello.World) }
//
// A struct service embeds one [Base] (its typed config, logger, stats and
// switches) and declares mixins as named fields:
//
//	type Scorer struct {
//		toil.Base[ScorerConfig]
//
//		Redis redis.Client // a mixin: config under "redis:"
//	}
//
//	func main() { toil.Main("tempest.scorer", &tempest.Scorer{}) }
//
// # Lifecycle
//
// Main and [Run] load the config and validate it (the Cfg's Validate() error,
// the service's ValidateConfig), then run, each under the setup timeout:
// the mixins' ToilPreSetup in field order, the service's Setup, the
// mixins' ToilPostSetup. Then the actors start together: the service's Run,
// its HTTP handler (Handler() or ServeHTTP, served on the worker's socket),
// the mixins' ToilActors. When one returns, or on SIGTERM/SIGINT, all are
// cancelled and drain; then the service's Stop and the mixins' ToilStop in
// reverse field order run, under the stop timeout. Every hook is optional,
// found by interface assertion ([Setupper], [Runner], [Stopper],
// [ConfigChanger], [MixinPreSetup], ...). Mixin hooks are looked for on the
// fields, never on the service, so a hook promoted by an embedded field
// never runs twice. A hook that fails or times out is named in the error,
// e.g. "stop: field Redis (ToilStop) timed out after 15s"; each hook's
// duration is logged and exported as toil_hook_duration_seconds.
//
// # Config
//
// Defaults (the Cfg's zero value, `default` tags, SetDefaults), then the
// service's section of the config file (--config, TOIL_CONFIG or
// ./toil.config.yaml, keyed by service name), then the environment
// (TOIL_<SERVICE>_<KEY>, and a field's own `env` tag), then flags
// (--key=value). Unknown keys and flags are errors that say where and
// suggest the near miss. SIGHUP, [Control.Reload] and any change to the
// config file reload it live: a fresh load, validation, the ConfigChanged
// hooks, then an atomic swap; any error keeps the old config, is logged
// and counted in toil_config_reload_errors_total. Fields tagged
// `secret:"true"`, or of type [Secret], never appear in a log line. The
// config file's `toil:` block sets switches, setup_timeout and
// stop_timeout.
//
// # Worker protocol
//
// A worker takes listening sockets from LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES
// (see [MixinEnv.Listen]) or listens on PORT; it sends READY=1 after setup,
// RELOADING=1 during a reload and STOPPING=1 on stop to $NOTIFY_SOCKET; it
// serves /metrics, /healthz, /readyz and /debug/pprof/ on TOIL_ADMIN_ADDR;
// it reads TOIL_WORKER (S.Worker) and logs JSON (text on a terminal, or per
// TOIL_LOG_FORMAT) at LOG_LEVEL with service and worker on every line.
package toil
