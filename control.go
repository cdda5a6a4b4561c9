package toil

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Control lets the code that calls Run observe and steer the service: wait
// until it is ready, find its admin address, reload its config. toiltest
// is built on it. A Control serves one Run.
type Control struct {
	ready   chan struct{}
	done    chan struct{}
	reloads chan reloadReq

	started chan struct{} // closed once the admin listener is bound (or there is none)
	mu      sync.Mutex
	addr    string
	err     error
}

type reloadReq struct {
	ctx   context.Context
	reply chan error
}

// NewControl returns a Control to pass to Run with [WithControl].
func NewControl() *Control {
	return &Control{
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
		reloads: make(chan reloadReq),
		started: make(chan struct{}),
	}
}

// Ready is closed once setup is done and the service is running (when it
// sends READY=1).
func (c *Control) Ready() <-chan struct{} { return c.ready }

// Done is closed when Run has returned.
func (c *Control) Done() <-chan struct{} { return c.done }

// Err returns what Run returned, once Done is closed.
func (c *Control) Err() error {
	<-c.done
	return c.err
}

// AdminAddr returns the admin listener's address (host:port), waiting
// until it is bound; "" if the run has none or ended first.
func (c *Control) AdminAddr() string {
	select {
	case <-c.started:
	case <-c.done:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Reload reloads the config now, as SIGHUP does, and returns why it was
// rejected, if it was. It waits until the service is running.
func (c *Control) Reload(ctx context.Context) error {
	req := reloadReq{ctx: ctx, reply: make(chan error, 1)}
	select {
	case c.reloads <- req:
	case <-c.done:
		return errors.New("reload: the service is not running")
	case <-ctx.Done():
		return fmt.Errorf("reload: %w", ctx.Err())
	}
	return <-req.reply
}

func (c *Control) start(adminAddr string) {
	c.mu.Lock()
	c.addr = adminAddr
	c.mu.Unlock()
	close(c.started)
}

func (c *Control) markReady() { close(c.ready) }

func (c *Control) finish(err error) {
	c.err = err
	close(c.done)
}
