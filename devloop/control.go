package devloop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/toilhq/toil/internal/runner"
	"github.com/toilhq/toil/layout"
)

// control serves the control socket: HTTP over a unix socket, only for the
// user who runs toil dev (the socket's directory is theirs).
type control struct {
	srv  *http.Server
	sock string
	done chan struct{}
}

// listenControl serves the control socket at sock.
func (d *dev) listenControl(sock string) (*control, error) {
	// A socket left by a killed toil dev: nothing answered on it.
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove the old control socket: %w", err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", d.handleStatus)
	mux.HandleFunc("POST /restart", d.handleRestart)
	mux.HandleFunc("POST /scale", d.handleScale)
	mux.HandleFunc("GET /logs", d.handleLogs)
	c := &control{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, sock: sock, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// close stops serving, cutting `logs -f` readers, and removes the socket.
func (c *control) close() {
	_ = c.srv.Close()
	<-c.done
	_ = os.Remove(c.sock)
}

func (d *dev) handleStatus(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	rep := d.report()
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}

// service checks that the request names a service of the running layout.
func (d *dev) service(w http.ResponseWriter, r *http.Request, backingToo bool) (string, bool) {
	name := r.URL.Query().Get("service")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.desired.Service(name) != nil || (backingToo && d.desired.BackingNamed(name) != nil) {
		return name, true
	}
	known := names(d.desired)
	if backingToo {
		known = append(known, backingNames(d.desired)...)
	}
	http.Error(w, fmt.Sprintf("no service %q in %s; there are %s", name, relPath(d.path), strings.Join(known, ", ")), http.StatusNotFound)
	return "", false
}

func (d *dev) handleRestart(w http.ResponseWriter, r *http.Request) {
	name, ok := d.service(w, r, true)
	if !ok {
		return
	}
	d.mu.Lock()
	isService := d.desired.Service(name) != nil
	d.mu.Unlock()
	if !isService {
		// A backing system: its command is stopped and started again on
		// its port; the workers keep their variables.
		if err := d.backing.Restart(r.Context(), name); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprintf(w, "restarted backing system %s\n", name)
		return
	}
	res := make(chan error, 1)
	d.post(func() {
		if d.binaries[name] == "" {
			res <- fmt.Errorf("%s is not running: it has not built yet", name)
			return
		}
		d.startRoll(d.ctx, name, "", nil, "toil dev restart")
		d.rolls[name].result = res
	})
	select {
	case err := <-res:
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprintf(w, "restarted %s\n", name)
	case <-r.Context().Done():
	}
}

func (d *dev) handleScale(w http.ResponseWriter, r *http.Request) {
	name, ok := d.service(w, r, false)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("procs"))
	if err != nil || n < 1 || n > layout.MaxProcs {
		http.Error(w, fmt.Sprintf("procs: want a number from 1 to %d, got %q", layout.MaxProcs, r.URL.Query().Get("procs")), http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	d.scale[name] = n
	running := d.running(name)
	d.mu.Unlock()
	if running {
		if err := d.sup.Scale(r.Context(), name, n); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
	}
	d.post(func() {
		d.applied = d.effective()
		d.ui.SetServices([]string{name}, []int{n})
	})
	fmt.Fprintf(w, "%s scaled to %d workers (until toil dev restarts or toil.yaml changes its procs)\n", name, n)
}

func (d *dev) handleLogs(w http.ResponseWriter, r *http.Request) {
	name, ok := d.service(w, r, true)
	if !ok {
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("lines"))
	follow := r.URL.Query().Get("follow") == "1"
	lines, sub, cancel := d.logs.tail(name, n, follow)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.WriteString(l + "\n")
	}
	bw.Flush()
	if sub == nil {
		return
	}
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case l := <-sub.ch:
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		case <-r.Context().Done():
			return
		}
	}
}

// dialControl connects to a control socket, to see whether a toil dev
// answers on it.
func dialControl(sock string) (net.Conn, error) {
	return net.DialTimeout("unix", sock, time.Second)
}

// Client talks to a running toil dev through its control socket.
type Client struct {
	sock string
	hc   *http.Client
}

// ErrNotRunning is returned by Connect when no toil dev runs for the
// module.
var ErrNotRunning = errors.New("toil dev is not running")

// Connect finds the toil dev running for the module of dir's toil.yaml.
func Connect(dir string) (*Client, error) {
	path, err := layout.Find(dir)
	if err != nil {
		return nil, err
	}
	mod, err := runner.FindModule(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("find the Go module of %s: %w", path, err)
	}
	sock := filepath.Join(mod.Root, filepath.FromSlash(DevDir), ControlSocket)
	conn, err := dialControl(sock)
	if err != nil {
		return nil, fmt.Errorf("%w in %s (nothing answers on %s); start it with toil dev", ErrNotRunning, mod.Root, relPath(sock))
	}
	conn.Close()
	return &Client{
		sock: sock,
		hc: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}},
	}, nil
}

// Close releases the client's connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://toil-dev"+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("toil dev control socket %s: %w", c.sock, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64*1024))
		return nil, &ControlError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(msg))}
	}
	return resp, nil
}

// ControlError is toil dev refusing a request: an unknown service, a bad
// count, a restart that failed.
type ControlError struct {
	Status int
	Msg    string
}

func (e *ControlError) Error() string { return e.Msg }

// Status returns toil dev's state.
func (c *Client) Status(ctx context.Context) (*Report, error) {
	resp, err := c.do(ctx, http.MethodGet, "/status", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("read toil dev's status: %w", err)
	}
	return &r, nil
}

// Restart replaces service's workers one at a time, and returns once the
// last one is replaced, or with why the rollout stopped. Given a backing
// system's name, it restarts its command on the same port and returns
// once it is ready again.
func (c *Client) Restart(ctx context.Context, service string) (string, error) {
	return c.text(ctx, "/restart", url.Values{"service": {service}})
}

// Scale sets service's number of workers until toil dev restarts or
// toil.yaml changes its procs.
func (c *Client) Scale(ctx context.Context, service string, n int) (string, error) {
	return c.text(ctx, "/scale", url.Values{"service": {service}, "procs": {strconv.Itoa(n)}})
}

func (c *Client) text(ctx context.Context, path string, q url.Values) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, path, q)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// Logs copies service's last lines (all toil dev kept when lines <= 0) to
// w; with follow, it goes on with new lines until ctx ends or toil dev
// stops.
func (c *Client) Logs(ctx context.Context, service string, lines int, follow bool, w io.Writer) error {
	q := url.Values{"service": {service}, "lines": {strconv.Itoa(lines)}}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, "/logs", q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil || (follow && err != nil && errors.Is(err, io.ErrUnexpectedEOF)) {
		return nil
	}
	return err
}
