// Package devloop is `toil dev`: it runs every service of a toil.yaml the
// way production runs them, and reloads them on save without dropping a
// request. It connects the parts in its subpackages:
//
//	watch → build → supervise → proxy, with backing below and ui on top
//
// [Run] reads toil.yaml, starts the backing systems (backing), binds the
// front proxy (proxy), builds every service with one go build (build),
// starts N workers per service on sockets toil holds (supervise), then
// follows the watcher's batches of changed files (watch):
//
//   - Go files, go.mod, embedded files: build; only the services whose
//     binary changed are rolled, one worker at a time, each new worker
//     serving before an old one stops. While a build is running or has
//     failed, the proxy marks the service's responses X-Toil-Stale, and a
//     failed build leaves the old workers serving, its errors on the screen
//     and on the proxy's error page.
//   - a service's config: files: SIGHUP to its workers, which reload their
//     configuration without restarting.
//   - a service's watch: globs: its workers are restarted.
//   - toil.yaml: diffed against the running layout and applied (services
//     added, removed, scaled or rolled, routes swapped, backing systems
//     restarted); an invalid file keeps the running layout and shows the
//     errors until it is fixed.
//
// A control socket (.toil/dev/control.sock, see [Client]) answers
// `toil dev status`, `restart`, `scale` and `logs`. Cancelling Run's context
// stops everything: workers get SIGTERM and their stop_timeout, backing
// systems stop last, and nothing toil started outlives it, even when toil
// is killed (the workers' parent-death signal, and the next run's clean-up
// of what a killed run left).
package devloop
