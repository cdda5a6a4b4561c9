package devloop

import (
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/toilhq/toil/devloop/backing"
	"github.com/toilhq/toil/devloop/supervise"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/layout"
)

// Report is toil dev's state as `toil dev status` shows it.
type Report struct {
	// Name is the layout's name; Layout its file.
	Name   string `json:"name"`
	Layout string `json:"layout"`
	// LayoutError is why the file on disk is not running: it is invalid.
	LayoutError string `json:"layout_error,omitempty"`
	// Proxy is the front proxy's address, "" without one.
	Proxy string `json:"proxy,omitempty"`
	// PID is toil dev's process.
	PID      int             `json:"pid"`
	Building bool            `json:"building,omitempty"`
	Services []ServiceReport `json:"services"`
	Backing  []BackingReport `json:"backing,omitempty"`
}

// ServiceReport is one service.
type ServiceReport struct {
	Name string `json:"name"`
	// State is one of ui's states: ready, starting, rolling,
	// crashlooping, build failed, roll failed, stopped.
	State string `json:"state"`
	Ready int    `json:"ready"`
	Total int    `json:"total"`
	Addr  string `json:"addr,omitempty"`
	// Binary is what new workers run.
	Binary string `json:"binary,omitempty"`
	// Stale is the X-Toil-Stale reason: the running code is older than
	// the source.
	Stale      string         `json:"stale,omitempty"`
	BuildError string         `json:"build_error,omitempty"`
	RollError  string         `json:"roll_error,omitempty"`
	Workers    []WorkerReport `json:"workers,omitempty"`
}

// WorkerReport is one worker of a service.
type WorkerReport struct {
	ID       string `json:"id"`
	PID      int    `json:"pid"`
	State    string `json:"state"`
	Restarts int    `json:"restarts,omitempty"`
	Error    string `json:"error,omitempty"`
}

// BackingReport is one backing system.
type BackingReport struct {
	Name string `json:"name"`
	Runs string `json:"runs"`
	Addr string `json:"addr"`
	PID  int    `json:"pid,omitempty"`
	// State is running, restarting (its command exited; it is restarted
	// on the same port after a backoff) or failed (its last restart did
	// not get ready: Error says why; it is tried again).
	State    string `json:"state"`
	Restarts int    `json:"restarts,omitempty"`
	// Exited is how its command last ended on its own.
	Exited string `json:"exited,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Healthy reports whether everything runs the newest source: no invalid
// toil.yaml, no failed build or rollout, no crashlooping worker, no
// backing system down.
func (r *Report) Healthy() bool {
	if r.LayoutError != "" {
		return false
	}
	for _, s := range r.Services {
		switch ui.State(s.State) {
		case ui.BuildFailed, ui.RollFailed, ui.Crashlooping, ui.Stopped:
			return false
		}
	}
	for _, b := range r.Backing {
		if b.State != string(backing.StateRunning) {
			return false
		}
	}
	return true
}

// report is the state now; d.mu is held.
func (d *dev) report() Report {
	r := Report{
		Name:        d.desired.Name,
		Layout:      d.path,
		LayoutError: d.layoutErr,
		Proxy:       d.proxyAddr,
		PID:         pid,
		Building:    d.building,
	}
	sup := map[string]supervise.ServiceStatus{}
	if d.sup != nil {
		for _, st := range d.sup.Status() {
			sup[st.Name] = st
		}
	}
	for _, s := range d.desired.Services {
		r.Services = append(r.Services, d.serviceReport(s, sup))
	}
	if d.backing != nil {
		for _, b := range d.backing.Status() {
			r.Backing = append(r.Backing, BackingReport{Name: b.Name, Runs: b.Runs, Addr: b.Addr, PID: b.PID,
				State: string(b.State), Restarts: b.Restarts, Exited: b.Exited, Error: b.Error})
		}
	}
	return r
}

func (d *dev) serviceReport(s *layout.Service, sup map[string]supervise.ServiceStatus) ServiceReport {
	sr := ServiceReport{
		Name:       s.Name,
		Total:      s.Procs,
		Binary:     d.binaries[s.Name],
		Stale:      d.stale[s.Name],
		BuildError: d.failed[s.Name],
		RollError:  d.rollErr[s.Name],
	}
	if n, ok := d.scale[s.Name]; ok {
		sr.Total = n
	}
	st, running := sup[s.Name]
	crash := ""
	if running {
		sr.Addr = st.Addr
		sr.Total = len(st.Workers)
		for _, w := range st.Workers {
			sr.Workers = append(sr.Workers, WorkerReport{ID: w.ID, PID: w.PID, State: string(w.State), Restarts: w.Restarts, Error: w.Error})
			switch w.State {
			case supervise.StateReady:
				sr.Ready++
			case supervise.StateCrashlooping, supervise.StateFailed:
				if crash == "" {
					crash = w.ID + ": " + w.Error
				}
			}
		}
	}
	switch {
	case sr.BuildError != "":
		sr.State = string(ui.BuildFailed)
	case !running && d.building:
		sr.State = string(ui.Starting)
	case !running:
		sr.State = string(ui.Stopped)
	case st.Rolling || d.rolls[s.Name] != nil:
		sr.State = string(ui.Rolling)
	case crash != "":
		sr.State = string(ui.Crashlooping)
	case sr.RollError != "":
		sr.State = string(ui.RollFailed)
	case sr.Ready < sr.Total:
		sr.State = string(ui.Starting)
	default:
		sr.State = string(ui.Ready)
	}
	return sr
}

// refresh redraws the status lines; d.mu is held.
func (d *dev) refresh() {
	r := d.report()
	lines := make([]ui.Status, 0, len(r.Services))
	for _, s := range r.Services {
		st := ui.Status{Name: s.Name, Ready: s.Ready, Total: s.Total, State: ui.State(s.State), Addr: s.Addr}
		switch ui.State(s.State) {
		case ui.BuildFailed:
			st.Note = "not running"
			if s.Binary != "" {
				st.Note = "the previous build serves"
			}
		case ui.RollFailed:
			st.Note = "the previous build serves: " + s.RollError
		case ui.Crashlooping:
			for _, w := range s.Workers {
				if w.State == string(supervise.StateCrashlooping) || w.State == string(supervise.StateFailed) {
					st.Note = w.ID + " " + w.Error
					break
				}
			}
		}
		lines = append(lines, st)
	}
	d.ui.SetStatus(lines)
}

func uiReload(rl *reload, now time.Time) ui.Reload {
	return ui.Reload{Services: rl.ok, Total: now.Sub(rl.first), Build: rl.build, Ready: rl.ready, Roll: rl.roll}
}

// matchesAny reports whether the file abs matches one of the layout's
// watch: globs, relative to the layout's directory; "**" matches any
// number of directories.
func matchesAny(l *layout.Layout, globs []string, abs string) bool {
	if len(globs) == 0 {
		return false
	}
	rel, err := filepath.Rel(l.Dir, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	name := strings.Split(filepath.ToSlash(rel), "/")
	for _, g := range globs {
		if matchSegs(strings.Split(strings.TrimPrefix(g, "./"), "/"), name) {
			return true
		}
	}
	return false
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
