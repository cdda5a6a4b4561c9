package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/toilhq/toil"
)

// Parser turns an input (a message body, a line, a file) into a record.
type Parser[In, A any] interface {
	Parse(ctx context.Context, in In) (A, error)
}

// Computer turns a record into another: enrich, score, anonymise, filter
// (by returning ErrSkip).
type Computer[A, B any] interface {
	Compute(ctx context.Context, a A) (B, error)
}

// Publisher sends a record on: to a queue, an HTTP endpoint, a file.
// queue.Publisher[T] is one.
type Publisher[B any] interface {
	Publish(ctx context.Context, b B) error
}

// ParseFunc makes a func a Parser.
type ParseFunc[In, A any] func(ctx context.Context, in In) (A, error)

// Parse calls f.
func (f ParseFunc[In, A]) Parse(ctx context.Context, in In) (A, error) { return f(ctx, in) }

// ComputeFunc makes a func a Computer.
type ComputeFunc[A, B any] func(ctx context.Context, a A) (B, error)

// Compute calls f.
func (f ComputeFunc[A, B]) Compute(ctx context.Context, a A) (B, error) { return f(ctx, a) }

// PublishFunc makes a func a Publisher.
type PublishFunc[B any] func(ctx context.Context, b B) error

// Publish calls f.
func (f PublishFunc[B]) Publish(ctx context.Context, b B) error { return f(ctx, b) }

// ErrSkip, returned by a Computer, drops the record: Process publishes
// nothing and returns nil.
var ErrSkip = errors.New("skip this record")

// StageError is a pipeline failure and the stage it happened in.
type StageError struct {
	Stage string // "parse", "compute" or "publish"
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }

func (e *StageError) Unwrap() error { return e.Err }

// Stage returns the stage err happened in ("parse", "compute",
// "publish"), or "" if err is not a pipeline's.
func Stage(err error) string {
	var se *StageError
	if errors.As(err, &se) {
		return se.Stage
	}
	return ""
}

// Pipeline is Parse → Compute → Publish for one input at a time. It holds
// no state of its own between inputs, so Process may be called from many
// goroutines (a consumer's workers, a pool) if its parts allow it.
type Pipeline[In, A, B any] struct {
	parse   Parser[In, A]
	compute Computer[A, B]
	publish Publisher[B]
	m       *metrics
}

// New assembles a pipeline from its parts.
func New[In, A, B any](parse Parser[In, A], compute Computer[A, B], publish Publisher[B], opts ...Option) *Pipeline[In, A, B] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p := &Pipeline[In, A, B]{parse: parse, compute: compute, publish: publish}
	if o.stats != nil {
		p.m = newMetrics(o.stats, o.name)
	}
	return p
}

// Option configures New.
type Option func(*options)

type options struct {
	stats *toil.Stats
	name  string
}

// WithStats counts the pipeline's records in stats, labelled
// pipeline=name: pipeline_records_total{result} (published, skipped,
// parse_error, compute_error, publish_error) and
// pipeline_stage_duration_seconds{stage}.
func WithStats(stats *toil.Stats, name string) Option {
	return func(o *options) { o.stats, o.name = stats, name }
}

// Process runs one input through the pipeline. It returns nil when the
// record was published or skipped, else a *StageError.
func (p *Pipeline[In, A, B]) Process(ctx context.Context, in In) error {
	t := time.Now()
	a, err := p.parse.Parse(ctx, in)
	t = p.m.stage("parse", t)
	if err != nil {
		p.m.result("parse_error")
		return &StageError{"parse", err}
	}
	b, err := p.compute.Compute(ctx, a)
	t = p.m.stage("compute", t)
	if errors.Is(err, ErrSkip) {
		p.m.result("skipped")
		return nil
	}
	if err != nil {
		p.m.result("compute_error")
		return &StageError{"compute", err}
	}
	err = p.publish.Publish(ctx, b)
	p.m.stage("publish", t)
	if err != nil {
		p.m.result("publish_error")
		return &StageError{"publish", err}
	}
	p.m.result("published")
	return nil
}

// Then chains two compute stages into one: first's output is second's
// input; ErrSkip or an error from first ends the chain.
func Then[A, B, C any](first Computer[A, B], second Computer[B, C]) Computer[A, C] {
	return ComputeFunc[A, C](func(ctx context.Context, a A) (C, error) {
		b, err := first.Compute(ctx, a)
		if err != nil {
			var zero C
			return zero, err
		}
		return second.Compute(ctx, b)
	})
}

// Filter is a compute stage that keeps the records keep accepts and skips
// the others.
func Filter[A any](keep func(A) bool) Computer[A, A] {
	return ComputeFunc[A, A](func(ctx context.Context, a A) (A, error) {
		if !keep(a) {
			return a, ErrSkip
		}
		return a, nil
	})
}

// Pass is a stage that hands its input on unchanged: a Parser for inputs
// that arrive decoded (a typed queue consumer's messages), or a Computer
// for a pipeline that only moves records.
func Pass[T any]() interface {
	Parser[T, T]
	Computer[T, T]
} {
	return pass[T]{}
}

type pass[T any] struct{}

func (pass[T]) Parse(ctx context.Context, v T) (T, error)   { return v, nil }
func (pass[T]) Compute(ctx context.Context, v T) (T, error) { return v, nil }

type metrics struct {
	records  *prometheus.CounterVec
	duration prometheus.ObserverVec
}

func newMetrics(stats *toil.Stats, name string) *metrics {
	l := prometheus.Labels{"pipeline": name}
	return &metrics{
		records: stats.CounterVec("pipeline_records_total",
			"Records through a pipeline, by result: published, skipped, parse_error, compute_error, publish_error.",
			"pipeline", "result").MustCurryWith(l),
		duration: stats.HistogramVec("pipeline_stage_duration_seconds", "Time a pipeline's stage took per record.",
			nil, "pipeline", "stage").MustCurryWith(l),
	}
}

// stage records the stage that began at start and returns now, the next
// stage's start.
func (m *metrics) stage(name string, start time.Time) time.Time {
	if m == nil {
		return start
	}
	now := time.Now()
	m.duration.WithLabelValues(name).Observe(now.Sub(start).Seconds())
	return now
}

func (m *metrics) result(r string) {
	if m != nil {
		m.records.WithLabelValues(r).Inc()
	}
}
