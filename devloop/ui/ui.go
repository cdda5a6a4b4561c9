// Package ui is what a person sees of `toil dev`: every worker's output,
// prefixed with its name and coloured per service (`web.2 | ...`), toil's
// own messages (`toil  | ...`), one status line per service, and after each
// save the time it took to serve the new code, split into build, ready and
// roll.
//
// Everything goes through one [UI], which writes each batch of lines with
// a single Write under a lock: lines from many workers never interleave and
// are never cut. On a terminal ([Options.Live]) the status lines stay at the
// bottom of the screen and are redrawn in place as logs scroll above them;
// elsewhere (a pipe, a file, CI) the output is plain text, one status line
// printed whenever a service's status changes. Colours come from lipgloss
// and are off unless [Options.Color] is set (callers leave it off when
// NO_COLOR is set or the output is not a terminal).
package ui

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// ToilID is the prefix of toil's own lines.
const ToilID = "toil"

// Options configure a UI.
type Options struct {
	// Color styles the output with ANSI colours.
	Color bool
	// Live keeps the status lines at the bottom of a terminal, redrawn in
	// place. Without it, each status change is printed as a line.
	Live bool
	// Width is the terminal's width in columns, for Live: longer status
	// lines are cut so redrawing stays in place. Zero means 80.
	Width int
}

// State is a service's state in its status line.
type State string

// The states of a service.
const (
	// Building: a build that may change it is running.
	Building State = "building"
	// Starting: its workers are starting for the first time.
	Starting State = "starting"
	// Ready: every worker serves the newest build.
	Ready State = "ready"
	// Rolling: its workers are being replaced one at a time.
	Rolling State = "rolling"
	// Crashlooping: a worker keeps crashing; it is restarted with backoff.
	Crashlooping State = "crashlooping"
	// BuildFailed: the newest source does not build; the workers (if any)
	// run the previous build.
	BuildFailed State = "build failed"
	// RollFailed: a new worker failed to become ready; the old ones serve.
	RollFailed State = "roll failed"
	// Stopped: no worker runs.
	Stopped State = "stopped"
)

// Status is one service's status line.
type Status struct {
	Name         string
	Ready, Total int
	State        State
	// Addr is where it is reached, "" when nowhere.
	Addr string
	// Note is a short explanation: "old workers serve", "restart 3 in 2s".
	Note string
}

// Reload is the timing of one save: from the first file event to every
// changed service serving the new build.
type Reload struct {
	// Services are the services rolled onto a new build.
	Services []string
	// Total is from the save to the last of them serving.
	Total time.Duration
	// Build is the build's share, Ready the first new worker's time to
	// ready, Roll the rollouts' whole time (Ready included).
	Build, Ready, Roll time.Duration
}

// palette cycles through colours that read on dark and light terminals.
var palette = []string{"6", "3", "2", "5", "4", "1", "14", "11", "10", "13", "12", "9"}

// UI writes toil dev's output to one writer. Its methods are safe for
// concurrent use.
type UI struct {
	w    io.Writer
	opts Options
	r    *lipgloss.Renderer

	mu      sync.Mutex
	width   int            // of the name column
	colours map[string]int // service → palette index
	status  []Status
	printed map[string]string // plain mode: the last status line printed per service
	footer  int               // live mode: status lines on screen below the logs
	closed  bool
}

// New returns a UI writing to w.
func New(w io.Writer, opts Options) *UI {
	u := &UI{w: w, opts: opts, width: len(ToilID), colours: map[string]int{}, printed: map[string]string{}}
	if opts.Width <= 0 {
		u.opts.Width = 80
	}
	// A renderer of its own: lipgloss's default one looks at the process's
	// stdout, not at w.
	u.r = lipgloss.NewRenderer(w)
	if opts.Color {
		u.r.SetColorProfile(termenv.ANSI256)
	} else {
		u.r.SetColorProfile(termenv.Ascii)
	}
	return u
}

// SetServices names the services and their worker counts, for colours
// (one per service, in order) and the width of the name column ("web.10").
// Call it again when the layout changes.
func (u *UI) SetServices(names []string, procs []int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, name := range names {
		if _, ok := u.colours[name]; !ok {
			u.colours[name] = len(u.colours) % len(palette)
		}
		id := fmt.Sprintf("%s.%d", name, max(procs[i], 1))
		u.width = max(u.width, len(id))
	}
}

// SetBacking names backing systems, whose lines are prefixed with their
// names.
func (u *UI) SetBacking(names []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, name := range names {
		u.width = max(u.width, len(name))
	}
}

// WorkerLine writes a line of worker id's output ("web.2") of service.
func (u *UI) WorkerLine(service, id, text string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.write([]string{u.prefix(id, u.serviceStyle(service)) + text})
}

// BackingLine writes a line of a backing system's output.
func (u *UI) BackingLine(name, text string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.write([]string{u.prefix(name, u.style().Faint(true)) + text})
}

// Info writes a message of toil's.
func (u *UI) Info(format string, args ...any) { u.toil(u.style(), format, args...) }

// Warn writes a warning of toil's: something is not as it should be, and
// toil goes on.
func (u *UI) Warn(format string, args ...any) {
	u.toil(u.style().Foreground(lipgloss.Color("3")), "warning: "+format, args...)
}

// Error writes an error of toil's; several lines stay together.
func (u *UI) Error(format string, args ...any) {
	u.toil(u.style().Foreground(lipgloss.Color("1")).Bold(true), format, args...)
}

// Block writes a message followed by text (compiler output, a worker's
// last lines), indented, all in one piece.
func (u *UI) Block(msg, text string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	lines := []string{u.prefix(ToilID, u.style().Bold(true)) + u.style().Foreground(lipgloss.Color("1")).Bold(true).Render(msg)}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		lines = append(lines, u.prefix(ToilID, u.style().Bold(true))+"    "+l)
	}
	u.write(lines)
}

// Reload writes the timing of a save.
func (u *UI) Reload(r Reload) {
	msg := fmt.Sprintf("%s serving the new build %s after the save (build %s, ready %s, roll %s)",
		strings.Join(r.Services, ", "), seconds(r.Total), seconds(r.Build), seconds(r.Ready), seconds(r.Roll))
	u.toil(u.style().Foreground(lipgloss.Color("2")), "%s", msg)
}

// seconds formats d as people read reload times: "0.62s", "12ms".
func seconds(d time.Duration) string {
	if d < 100*time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func (u *UI) toil(st lipgloss.Style, format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		lines = append(lines, u.prefix(ToilID, u.style().Bold(true))+st.Render(l))
	}
	u.write(lines)
}

// SetStatus replaces the status lines, one per service in the order given.
// Live, the lines at the bottom are redrawn; plain, a line is printed for
// each service whose status changed.
func (u *UI) SetStatus(st []Status) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.status = slices.Clone(st)
	if u.opts.Live {
		u.write(nil)
		return
	}
	var lines []string
	for _, s := range st {
		line := u.statusText(s)
		if u.printed[s.Name] == line {
			continue
		}
		u.printed[s.Name] = line
		lines = append(lines, u.prefix(ToilID, u.style().Bold(true))+u.statusLine(s))
	}
	u.write(lines)
}

// statusText is a status line without styles, to see whether it changed.
func (u *UI) statusText(s Status) string {
	return fmt.Sprintf("%s %d/%d %s %s %s", s.Name, s.Ready, s.Total, s.State, s.Addr, s.Note)
}

// statusLine is "web   2/2 ready  127.0.0.1:8081  (note)".
func (u *UI) statusLine(s Status) string {
	var b strings.Builder
	b.WriteString(u.serviceStyle(s.Name).Bold(true).Render(fmt.Sprintf("%-*s", u.nameWidth(), s.Name)))
	fmt.Fprintf(&b, " %d/%d ", s.Ready, s.Total)
	b.WriteString(u.stateStyle(s.State).Render(string(s.State)))
	if s.Addr != "" {
		b.WriteString("  " + s.Addr)
	}
	if s.Note != "" {
		b.WriteString("  " + u.style().Faint(true).Render("("+s.Note+")"))
	}
	return b.String()
}

func (u *UI) nameWidth() int {
	w := 0
	for _, s := range u.status {
		w = max(w, len(s.Name))
	}
	return w
}

func (u *UI) stateStyle(s State) lipgloss.Style {
	switch s {
	case Ready:
		return u.style().Foreground(lipgloss.Color("2"))
	case Building, Starting, Rolling:
		return u.style().Foreground(lipgloss.Color("3"))
	case Crashlooping, BuildFailed, RollFailed:
		return u.style().Foreground(lipgloss.Color("1")).Bold(true)
	}
	return u.style().Faint(true)
}

// Close takes the live status lines off the screen, leaving the last
// ones printed as plain lines, and makes the UI write nothing more.
func (u *UI) Close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	var lines []string
	if u.opts.Live {
		for _, s := range u.status {
			lines = append(lines, u.prefix(ToilID, u.style().Bold(true))+u.statusLine(s))
		}
		// Erase the live lines and print them once more, not to redraw.
		u.status = nil
	}
	u.write(lines)
	u.opts.Live = false
	u.closed = true
}

// write writes lines at once: live, the status lines are taken off,
// the lines written, and the status lines drawn again below them.
func (u *UI) write(lines []string) {
	if u.closed {
		return
	}
	var b strings.Builder
	if u.opts.Live && u.footer > 0 {
		// Up to the first status line, and clear to the end of the screen.
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", u.footer)
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	u.footer = 0
	if u.opts.Live {
		for _, s := range u.status {
			b.WriteString(cut(u.prefix(ToilID, u.style().Bold(true))+u.statusLine(s), u.opts.Width-1))
			b.WriteByte('\n')
			u.footer++
		}
	}
	if b.Len() > 0 {
		_, _ = io.WriteString(u.w, b.String())
	}
}

// cut shortens a styled line to width columns, so it takes one line of the
// terminal and redrawing stays in place.
func cut(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

func (u *UI) style() lipgloss.Style { return u.r.NewStyle() }

func (u *UI) serviceStyle(service string) lipgloss.Style {
	i, ok := u.colours[service]
	if !ok {
		return u.style()
	}
	return u.style().Foreground(lipgloss.Color(palette[i]))
}

// prefix is "web.2 | ", the name padded to the widest.
func (u *UI) prefix(id string, st lipgloss.Style) string {
	u.width = max(u.width, len(id))
	return st.Render(fmt.Sprintf("%-*s", u.width, id)) + " | "
}
