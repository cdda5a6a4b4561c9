// Package backing runs the backing systems of a toil.yaml (backing:) for
// `toil dev`: the servers the services talk to, started before them,
// checked for readiness, and stopped after them.
//
// Three kinds of system run:
//
//   - embedded: nats is the nats-server library with JetStream, inside
//     toil's own process, its store under [Options.Dir]/<name>; embedded:
//     redis is miniredis, a Redis-compatible server in toil's process
//     (enough for development; not every command, no persistence);
//   - cmd: a command from PATH (redis-server --port {port}), in
//     its own process group under [Options.Dir]/<name>, with a readiness
//     probe (layout.Probe: a TCP connection, an HTTP path answering 2xx, or
//     a command exiting 0; a redis kind answers PING), stopped with SIGTERM,
//     its stop_timeout, then SIGKILL, and killed with toil if toil dies.
//     A command that exits on its own is restarted on the same port, as
//     systemd's Restart= would, after a backoff that doubles from
//     layout.BackoffMin to layout.BackoffMax ([EventExited],
//     [EventRestarted], [EventRestartFailed]; [Status.State]), and
//     [Set.Restart] restarts one by name;
//   - a cmd whose program is not installed, with fallback: embedded: the
//     embedded server of its kind runs instead, and an [EventWarning] says
//     so.
//
// Each system gets the port the layout gives it or a free loopback port,
// and its variables (REDIS_URL, NATS_URL, ...) come from [Set.Env], for
// layout.Layout.Environ to give the workers.
//
//	set, err := backing.Start(ctx, lay, backing.Options{Dir: ".toil/dev/backing"})
//	if err != nil {
//		return err // nothing is left running
//	}
//	defer set.Stop(context.Background())
//	env := set.Env() // REDIS_URL=redis://127.0.0.1:41234, ...
//
// The package prints nothing: command output comes line by line through
// [Options.Log], and what it does through [Options.OnEvent].
package backing
