// Package httpmod mirrors caddy's modules/caddyhttp: one file registers a CLI subcommand
// (staticresp.go imports cobra for `caddy respond`), which makes the whole 40-file HTTP library
// a "command package" for fmtprint.
package httpmod

import "github.com/spf13/cobra"

var respondCmd = &cobra.Command{Use: "respond"}
