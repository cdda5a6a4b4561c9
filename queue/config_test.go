package queue_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/queue/queuetest"
	"github.com/toilhq/toil/toiltest"
)

type pubOnly struct {
	toil.Base[struct{}]

	Out queue.Publisher[order]
}

// runErr runs svc until it fails to start and returns why.
func runErr(t *testing.T, svc any, opts ...toil.Option) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var logs strings.Builder
	opts = append([]toil.Option{toil.WithAdminAddr(""), toil.WithConfigFile(""), toil.WithLogOutput(&logs)}, opts...)
	err := toil.Run(ctx, "test.bad", svc, opts...)
	if err == nil {
		t.Fatalf("the service started; want an error. Log:\n%s", logs.String())
	}
	return err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\ndoes not say %q", err, p)
		}
	}
}

func TestUnknownSchemeListsSupported(t *testing.T) {
	t.Parallel()
	err := runErr(t, &pubOnly{}, toil.WithEnv(), toil.WithArgs("--out.url=amqp://user:hunter2@mq:5672", "--out.topic=orders"))
	wantErr(t, err, "out", `unknown scheme "amqp"`, "mem://", "nats://", "redis://", "kafka://", "amqp://user:xxxxx@mq:5672")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"no topic", []string{"--in.url=mem://x"}, nil, []string{"in", "topic is not set"}},
		{"no backend", []string{"--in.topic=t"}, nil, []string{"no backend", "set url", "NATS_URL"}},
		{"backend without its variable", []string{"--in.topic=t", "--in.backend=redis"}, nil, []string{"backend redis", "REDIS_URL"}},
		{"unknown backend", []string{"--in.topic=t", "--in.backend=rabbit"}, nil, []string{`backend "rabbit" is not one of mem, nats, redis, kafka`}},
		{"url and backend disagree", []string{"--in.topic=t", "--in.url=mem://x", "--in.backend=nats"}, nil, []string{"mem URL but backend is nats"}},
		{"unknown codec", []string{"--in.topic=t", "--in.url=mem://x", "--in.codec=avro"}, nil, []string{`codec "avro" is not registered`, "json, raw"}},
		{"zero attempts", []string{"--in.topic=t", "--in.url=mem://x", "--in.max_attempts=0"}, nil, []string{"max_attempts is 0"}},
		{"dead letter is the topic", []string{"--in.topic=t", "--in.url=mem://x", "--in.dead_letter=t"}, nil, []string{"dead_letter is the topic itself"}},
		{"retries outlast redelivery", []string{"--in.topic=t", "--in.url=mem://x", "--in.max_attempts=10", "--in.redeliver_after=5s"}, nil,
			[]string{"not less than redeliver_after 5s", "raise redeliver_after"}},
		{"KAFKA_BROKERS credentials", []string{"--in.topic=t", "--in.backend=kafka"}, []string{"KAFKA_BROKERS=kafka://u:secret@b:9092"}, []string{"credentials", "not supported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := runErr(t, &worker{}, toil.WithEnv(tc.env...), toil.WithArgs(tc.args...), toil.WithSetupTimeout(2*time.Second))
			wantErr(t, err, tc.want...)
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows a credential: %v", err)
			}
		})
	}
}

// TestUnreachableBackend checks that setup retries within its timeout, then
// fails naming the URL without its password.
func TestUnreachableBackend(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: taken, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct{ scheme, url string }{
		{"nats", "nats://alice:s3cret@" + addr},
		{"redis", "redis://:s3cret@" + addr + "/0"},
		{"kafka", "kafka://" + addr},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			err := runErr(t, &pubOnly{}, toil.WithEnv(), toil.WithArgs("--out.url="+tc.url, "--out.topic=orders"),
				toil.WithSetupTimeout(1500*time.Millisecond))
			var he *toil.HookError
			if !errors.As(err, &he) || he.Target != "field Out" || he.Hook != "ToilPreSetup" {
				t.Errorf("error %v: want the Out field's ToilPreSetup named", err)
			}
			t.Logf("setup error: %v", err)
			wantErr(t, err, "connect to "+tc.scheme, addr, "attempts in")
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

type twoConsumers struct {
	toil.Base[struct{}]

	In    queue.Consumer[order]
	Other queue.Consumer[job]
}

func (s *twoConsumers) OnMessage(ctx context.Context, o order) error { return nil }

type noHandler struct {
	toil.Base[struct{}]

	In queue.Consumer[order]
}

func TestHandlerMismatch(t *testing.T) {
	t.Parallel()
	url := queuetest.MemURL(t)
	err := runErr(t, &twoConsumers{}, toil.WithEnv(), toil.WithArgs("--in.url="+url, "--in.topic=a", "--other.url="+url, "--other.topic=b"))
	wantErr(t, err, "field Other is a queue.Consumer[queue_test.job]",
		"(*queue_test.twoConsumers).OnMessage is func(context.Context, queue_test.order) error",
		"want OnMessage(ctx context.Context, m queue_test.job) error, or set Other.Handler in Setup")

	err = runErr(t, &noHandler{}, toil.WithEnv(), toil.WithArgs("--in.url="+url, "--in.topic=a"))
	wantErr(t, err, "*queue_test.noHandler has no OnMessage method", "add OnMessage(ctx context.Context, m queue_test.order) error")
}

// TestBackendFromEnvironment checks the worker protocol's variables: with
// no url, backend names the variable; with neither, NATS_URL decides.
func TestBackendFromEnvironment(t *testing.T) {
	t.Parallel()
	nats, kafka := testserver.NATS(t), testserver.Kafka(t)
	for _, tc := range []struct {
		name, config, env, want string
	}{
		{"NATS_URL alone", "out: {topic: x}", "NATS_URL=" + nats.URL(), "backend=nats"},
		{"backend kafka, bare KAFKA_BROKERS", "out: {topic: x, backend: kafka}", "KAFKA_BROKERS=" + kafka.Brokers(), "backend=kafka"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := &pubOnly{}
			s := toiltest.Run(t, svc, toiltest.Name("test.env"), toiltest.Config(tc.config), toiltest.Env(tc.env))
			s.WaitReady()
			if err := svc.Out.Publish(t.Context(), order{ID: 1}); err != nil {
				t.Errorf("publish: %v", err)
			}
			if !strings.Contains(s.Logs(), tc.want) {
				t.Errorf("the log does not say %s:\n%s", tc.want, s.Logs())
			}
		})
	}
}

// TestReloadRejectsEndpointChange checks that a live reload may change the
// retry settings but not where messages come from.
func TestReloadRejectsEndpointChange(t *testing.T) {
	t.Parallel()
	url := queuetest.MemURL(t)
	svc := &noHandlerWithFunc{}
	s := toiltest.Run(t, svc, toiltest.Name("test.reload"), toiltest.Config("in: {url: '"+url+"', topic: a}"))
	s.WaitReady()
	s.SetConfig("in: {url: '" + url + "', topic: a, max_attempts: 2}")
	if err := s.Reload(); err != nil {
		t.Errorf("reload changing max_attempts: %v", err)
	}
	s.SetConfig("in: {url: '" + url + "', topic: b}")
	err := s.Reload()
	if err == nil {
		t.Fatal("reload changing the topic was accepted; want it rejected")
	}
	wantErr(t, err, "In", "restart the service")
}

type noHandlerWithFunc struct {
	toil.Base[struct{}]

	In queue.Consumer[order]
}

func (s *noHandlerWithFunc) Setup(ctx context.Context) error {
	s.In.Handler = func(ctx context.Context, o order) error { return nil }
	return nil
}

// signalWriter closes seen when a line containing want is written.
type signalWriter struct {
	want string
	seen chan struct{}
	once sync.Once
	mu   sync.Mutex
	buf  strings.Builder
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBackendComesUpDuringSetup checks that setup keeps trying: Redis is
// down when the service starts and comes up while it retries.
func TestBackendComesUpDuringSetup(t *testing.T) {
	t.Parallel()
	rs := testserver.Redis(t)
	rs.Stop()
	logs := &signalWriter{want: "cannot connect; retrying", seen: make(chan struct{})}
	svc := &pubOnly{}
	ctl := toil.NewControl()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- toil.Run(ctx, "test.late", svc, toil.WithEnv("TOIL_LOG_FORMAT=text"), toil.WithAdminAddr(""), toil.WithConfigFile(""),
			toil.WithLogOutput(logs), toil.WithControl(ctl), toil.WithSetupTimeout(time.Minute),
			toil.WithArgs("--out.url="+rs.URL(), "--out.topic=orders"))
	}()
	select {
	case <-logs.seen:
	case err := <-done:
		t.Fatalf("the service ended before retrying: %v\n%s", err, logs)
	}
	rs.Restart()
	select {
	case <-ctl.Ready():
	case err := <-done:
		t.Fatalf("the service ended instead of connecting once Redis was up: %v\n%s", err, logs)
	}
	if err := svc.Out.Publish(t.Context(), order{ID: 1}); err != nil {
		t.Errorf("publish after a late connect: %v", err)
	}
	if !strings.Contains(logs.String(), `msg=connected`) {
		t.Errorf("the log does not say it connected after retrying:\n%s", logs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
}
