package toil

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"
)

// newLogger builds the service's logger: JSON unless the output is a
// terminal (or TOIL_LOG_FORMAT says otherwise), level from TOIL_LOG_LEVEL or
// LOG_LEVEL, service and worker on every line, secrets redacted.
func newLogger(o options, name string, worker int) (*slog.Logger, error) {
	level := slog.LevelInfo
	for _, env := range []string{"TOIL_LOG_LEVEL", "LOG_LEVEL"} {
		v, ok := o.lookupEnv(env)
		if !ok || v == "" {
			continue
		}
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, usagef("%s=%q: want debug, info, warn or error", env, v)
		}
		break
	}
	hopts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	format, _ := o.lookupEnv("TOIL_LOG_FORMAT")
	var h slog.Handler
	switch strings.ToLower(format) {
	case "json":
		h = slog.NewJSONHandler(o.logOut, hopts)
	case "text":
		h = slog.NewTextHandler(o.logOut, hopts)
	case "":
		if isTerminal(o.logOut) {
			h = slog.NewTextHandler(o.logOut, hopts)
		} else {
			h = slog.NewJSONHandler(o.logOut, hopts)
		}
	default:
		return nil, usagef("TOIL_LOG_FORMAT=%q: want json or text", format)
	}
	return slog.New(h).With("service", name, "worker", worker), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
