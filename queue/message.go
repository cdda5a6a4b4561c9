package queue

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// Metadata keys toil sets on a dead-lettered message, beside the original
// message's own metadata.
const (
	// MetaReason is why the message was dead-lettered: ReasonHandler or
	// ReasonDecode.
	MetaReason = "toil_dead_letter_reason"
	// MetaError is the handler's last error, or why decoding failed.
	MetaError = "toil_error"
	// MetaAttempts is how many times the handler was called.
	MetaAttempts = "toil_attempts"
	// MetaTopic is the topic the message was consumed from.
	MetaTopic = "toil_topic"
	// MetaGroup is the consumer group that gave up on it.
	MetaGroup = "toil_group"
	// MetaService is the service (and worker) that gave up on it.
	MetaService = "toil_service"
)

// The reasons a message is dead-lettered (MetaReason).
const (
	ReasonHandler = "handler" // the handler failed MaxAttempts times
	ReasonDecode  = "decode"  // the payload (or the backend's envelope) could not be decoded
)

// metaUndecodable marks a message whose backend envelope could not be read
// (a foreign producer's stream entry, a malformed header): the backends
// never drop such a message but hand it over with this reason, so it is
// dead-lettered like a payload the codec rejects.
const metaUndecodable = "toil_undecodable"

// Message describes the message being handled. OnMessage's ctx carries it;
// read it with [MessageFrom].
type Message struct {
	ID       string            // the message's id, kept across retries and into the dead-letter topic
	Topic    string            // where it was consumed from
	Attempt  int               // 1 for the first call of the handler, 2 for the first retry, ...
	Metadata map[string]string // headers set by the publisher (and MetaReason etc. on dead letters)
	Payload  []byte            // the encoded value, as it came
}

type messageKey struct{}

// MessageFrom returns the message a handler's ctx is for, or nil outside
// a handler.
func MessageFrom(ctx context.Context) *Message {
	m, _ := ctx.Value(messageKey{}).(*Message)
	return m
}

func withMessage(ctx context.Context, m *Message) context.Context {
	return context.WithValue(ctx, messageKey{}, m)
}

// wmLogger sends watermill's logging to the service's logger, one level
// down: watermill logs every message at Info, which is toil's Debug. It
// asks the logger first, so the per-message lines cost nothing unless
// debug logging is on.
func wmLogger(log *slog.Logger) watermill.LoggerAdapter { return wmLog{log} }

type wmLog struct{ l *slog.Logger }

func (w wmLog) Error(msg string, err error, f watermill.LogFields) {
	w.log(slog.LevelError, msg, f, "err", err)
}
func (w wmLog) Info(msg string, f watermill.LogFields)  { w.log(slog.LevelDebug, msg, f) }
func (w wmLog) Debug(msg string, f watermill.LogFields) { w.log(slog.LevelDebug-4, msg, f) }
func (w wmLog) Trace(msg string, f watermill.LogFields) { w.log(slog.LevelDebug-8, msg, f) }

func (w wmLog) With(f watermill.LogFields) watermill.LoggerAdapter {
	return wmLog{w.l.With(attrs(f)...)}
}

func (w wmLog) log(level slog.Level, msg string, f watermill.LogFields, extra ...any) {
	ctx := context.Background()
	if !w.l.Enabled(ctx, level) {
		return
	}
	w.l.Log(ctx, level, msg, append(attrs(f), extra...)...)
}

func attrs(f watermill.LogFields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, v)
	}
	return out
}
