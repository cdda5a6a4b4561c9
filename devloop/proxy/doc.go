// Package proxy is the front proxy of `toil dev` and `toil up`: the nginx
// role in front of the workers the supervisor runs.
//
// A [Proxy] routes each request by the longest matching path prefix
// ([Route]) to a service, and each service to its current set of
// [Backend]s: one unix or TCP socket shared by all its workers (the kernel
// balances accept), or one address per worker for `main:` services that
// read PORT (balanced least-connections, ties round-robin). The supervisor
// swaps a service's backends atomically with [Proxy.SetBackends]; requests
// already on an old backend finish there, new ones go to the new set, and
// the request path takes no lock.
//
// Nothing is dropped during a swap. A request whose connection is refused
// goes on to another backend of the current set (its body, not yet sent,
// goes with it); so does a GET, HEAD, OPTIONS or TRACE without a body whose
// connection was reset before any response. Each backend is tried once (a
// lone backend twice); a failure on a backend swapped out meanwhile does not
// count. Nothing is retried once a backend has seen a request body, nor
// once a response has begun. A backend that refused a connection is tried
// last for a second, as nginx's fail_timeout does.
//
// Responses stream unbuffered (server-sent events arrive as they are
// written), WebSocket and other HTTP upgrades pass through, and
// X-Forwarded-For, -Host and -Proto are set as the usual nginx
// configuration sets them; the client's Host is kept.
//
// When the running build is older than the source, [Proxy.SetStale] makes
// every response of the service carry an X-Toil-Stale header. When nothing
// can serve, the proxy answers with its own page (HTML for browsers, text
// otherwise) naming the service and the last build error
// ([Proxy.SetBuildError]): 503 while the service is starting
// ([Proxy.SetStarting]), 502 otherwise, 404 when no route matches.
package proxy
