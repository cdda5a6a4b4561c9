// Package supervise is the process master of `toil dev` and `toil up`: the
// uWSGI master role of DESIGN §6. It runs every service of a toil.yaml as N
// workers speaking the worker protocol (DESIGN §4), and replaces them
// without dropping a request.
//
// # Sockets
//
// The supervisor binds each `run:` service's listen address once, when it
// is created, and keeps the socket for its whole life. Every worker of the
// service, of every generation, inherits it as fd 3 (LISTEN_FDS=1,
// LISTEN_FDNAMES=<service>, LISTEN_PID set by the shim, see
// internal/shim), so old and new workers accept from one queue: no
// "address already in use", no connection refused during a reload.
//
// A `main:` service is a plain program reading PORT: each worker gets a
// free port of its own, is ready once that port accepts a connection, and
// the supervisor publishes the ready workers' addresses ([Options.OnBackends])
// for the front proxy. If the service has a listen address, the supervisor
// binds it too and forwards each connection to a ready worker.
//
// # Readiness, rollout, crashes
//
// A worker is ready when it sends READY=1 to its own NOTIFY_SOCKET, or, as
// a fallback, when its admin address answers /readyz with 200 (toil
// services), or its PORT accepts a connection (main: services); a main:
// service that listens nowhere and never sends READY=1 is taken as ready
// once it has stayed up for [NoProtocolSettle].
//
// [Supervisor.Roll] replaces a service's workers one at a time: it starts
// the successor, waits until it is ready, publishes it, then sends the
// predecessor SIGTERM, and SIGKILL after the service's stop_timeout. A
// successor that exits or is not ready within ready_timeout is stopped, the
// old workers keep serving, and the failure is an [EventRollFailed] and a
// [*RollError] naming the worker, the reason and its last lines of output.
//
// A main: service's workers each listen on a socket of their own, and
// closing one resets the connections queued on it: a predecessor is
// unpublished first and sent SIGTERM 100 ms later, so a proxy that picked
// it just before still gets its connection accepted.
//
// A worker that exits on its own is restarted after a backoff that doubles
// from layout.BackoffMin to layout.BackoffMax and starts again once a
// worker stayed up for layout.BackoffReset; meanwhile [Supervisor.Status]
// shows it as crashlooping. Other services are not touched.
//
// # Process hygiene
//
// Each worker leads its own process group; stopping sends SIGTERM to the
// group, waits the stop timeout, then SIGKILLs the group, and reaps. On
// Linux workers are started from one OS thread locked for the supervisor's
// life with a parent-death signal of SIGKILL, so they die with the
// supervisor even when it is SIGKILLed (the signal follows the thread that
// forked, golang/go#27505). With [Options.StateDir] the supervisor records
// its workers (pid, process start time, binary); the next supervisor with
// the same directory kills any of them still running and says so
// ([EventStaleKilled]), and a lock keeps two supervisors from sharing one
// directory.
//
// The socket workers inherit is a duplicate made so that starting a worker
// never puts the shared socket into blocking mode (ln.File() would, through
// os/exec's Fd call): a blocking accept in the running workers could not be
// interrupted by their shutdown.
//
// The supervisor prints nothing: worker output comes line by line through
// [Options.Log], and what it does through [Options.OnEvent].
package supervise
