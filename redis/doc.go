// Package redis is toil's Redis mixin and its Redis-backed feature
// switches.
//
// A [Client] is a named field of a struct service: go-redis v9, connected
// from the field's config or REDIS_URL before the service's Setup, checked
// by /readyz, measured in /metrics, closed on stop.
//
//	type Web struct {
//		toil.Base[Config]
//
//		Redis redis.Client // config under redis:
//	}
//
//	func (w *Web) ad(rw http.ResponseWriter, r *http.Request) {
//		ad, err := w.Redis.Get(r.Context(), "ad:"+r.PathValue("id")).Bytes()
//		if errors.Is(err, redis.Nil) {
//			http.NotFound(rw, r)
//			return
//		}
//		...
//	}
//
// Its config (every key optional):
//
//	tempest.web:
//	  redis:
//	    url: redis://:password@cache:6379/0   # else REDIS_URL, else redis://127.0.0.1:6379/0
//	    pool_size: 20
//	    connect_timeout: 10s                  # how long the start retries
//	    ping_timeout: 1s                      # the /readyz check
//	    switches:
//	      enabled: true                       # s.Switch follows the hash toil:switches
//	      key: toil:switches
//
// A [SwitchStore] keeps switches in a Redis hash; its doc gives the format.
package redis
