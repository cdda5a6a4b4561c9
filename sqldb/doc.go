// Package sqldb is toil's SQL mixin: database/sql on Postgres (pgx) or
// SQLite (modernc.org/sqlite, pure Go, the embedded default).
//
// A [DB] is a named field of a struct service, opened from the field's
// config or DATABASE_URL before the service's Setup, checked by /readyz,
// measured in /metrics (go_sql_*), closed on stop. Without a URL it opens
// an SQLite file named after the service in the data dir, so a service
// that needs a little storage runs with no setup at all.
//
//	tempest.ledger:
//	  db:
//	    url: postgres://ledger:password@db:5432/ledger   # else DATABASE_URL, else SQLite
//	    max_open_conns: 20
//	    conn_max_lifetime: 30m
package sqldb
