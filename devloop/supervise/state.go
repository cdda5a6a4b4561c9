package supervise

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	stateFileName = "workers.json"
	lockFileName  = "supervisor.lock"
	// notifyDirPrefix names the temporary directories of notify sockets.
	notifyDirPrefix = "toil-sv-"
	// staleWait bounds how long the supervisor waits for a killed stale
	// worker to disappear before it binds the sockets that worker held.
	staleWait = 5 * time.Second
)

// stateFile records the supervisor's live workers in StateDir, so that the
// next supervisor can kill those a killed one left behind. A worker is
// known by its pid and its start time (field 22 of /proc/PID/stat): a pid
// reused by another process has another start time and is left alone.
type stateFile struct {
	dir       string
	notifyDir string
	lock      *os.File
	workers   map[int]stateWorker
	err       error // the first error writing the file, reported by clear
}

// stateWorker is one worker in the state file.
type stateWorker struct {
	PID     int    `json:"pid"`
	Start   uint64 `json:"start"` // clock ticks after boot
	Service string `json:"service"`
	Worker  int    `json:"worker"`
	Binary  string `json:"binary"`
}

type stateDoc struct {
	Supervisor int `json:"supervisor"`
	// NotifyDir is the supervisor's temporary directory of notify sockets,
	// which a killed supervisor leaves behind.
	NotifyDir string        `json:"notify_dir,omitempty"`
	Workers   []stateWorker `json:"workers"`
}

// openState takes dir's lock and kills the workers its last supervisor
// left running, returning those.
func openState(dir string) (*stateFile, []stateWorker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("supervise: state dir: %w", err)
	}
	lockPath := filepath.Join(dir, lockFileName)
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("supervise: state lock: %w", err)
	}
	if err := lockFile(lock); err != nil {
		other, _ := os.ReadFile(lockPath)
		lock.Close()
		who := "another toil supervisor"
		if pid := strings.TrimSpace(string(other)); pid != "" {
			who += " (pid " + pid + ")"
		}
		return nil, nil, fmt.Errorf("%s is running with its state in %s; stop it first, or run this one from another directory", who, dir)
	}
	_ = lock.Truncate(0)
	_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)

	st := &stateFile{dir: dir, lock: lock, workers: map[int]stateWorker{}}
	stale, err := st.killStale()
	if err != nil {
		st.close()
		return nil, nil, err
	}
	st.save()
	return st, stale, nil
}

// killStale kills the workers the state file lists that still run.
func (st *stateFile) killStale() ([]stateWorker, error) {
	path := filepath.Join(st.dir, stateFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("supervise: read %s: %w", path, err)
	}
	var doc stateDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		// A torn or foreign file: nothing in it can be trusted to kill.
		return nil, nil
	}
	if d := doc.NotifyDir; d != "" && filepath.Dir(d) == filepath.Clean(os.TempDir()) && strings.HasPrefix(filepath.Base(d), notifyDirPrefix) {
		os.RemoveAll(d)
	}
	var killed []stateWorker
	for _, w := range doc.Workers {
		if w.PID <= 1 || w.Start == 0 {
			continue
		}
		if start, ok := procStartTime(w.PID); !ok || start != w.Start {
			continue // gone, or its pid now belongs to another process
		}
		// Each worker led its own process group: what it started goes too.
		_ = signalGroup(w.PID, syscall.SIGKILL)
		_ = signalProcess(w.PID, syscall.SIGKILL)
		killed = append(killed, w)
	}
	for _, w := range killed {
		waitGone(w.PID, w.Start, staleWait)
	}
	return killed, nil
}

// add records p, which has just started.
func (st *stateFile) add(p *proc) {
	start, ok := procStartTime(p.pid)
	if !ok {
		return // already gone, or no way to know it again: not recorded
	}
	st.workers[p.pid] = stateWorker{PID: p.pid, Start: start, Service: p.svc.name, Worker: p.slot.n, Binary: p.binary}
	st.save()
}

// remove forgets p, which was reaped.
func (st *stateFile) remove(p *proc) {
	if _, ok := st.workers[p.pid]; ok {
		delete(st.workers, p.pid)
		st.save()
	}
}

// save writes the file whole, through a rename, so a supervisor killed
// while writing leaves the old file rather than half a new one.
func (st *stateFile) save() {
	doc := stateDoc{Supervisor: os.Getpid(), NotifyDir: st.notifyDir, Workers: make([]stateWorker, 0, len(st.workers))}
	for _, w := range st.workers {
		doc.Workers = append(doc.Workers, w)
	}
	slices.SortFunc(doc.Workers, func(a, b stateWorker) int { return a.PID - b.PID })
	data, _ := json.MarshalIndent(doc, "", "  ")
	path := filepath.Join(st.dir, stateFileName)
	tmp := path + ".tmp"
	err := os.WriteFile(tmp, append(data, '\n'), 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil && st.err == nil {
		st.err = fmt.Errorf("supervise: write %s: %w", path, err)
	}
}

// clear removes the state file once every worker is reaped.
func (st *stateFile) clear() error {
	err := os.Remove(filepath.Join(st.dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return errors.Join(st.err, err)
}

// setNotifyDir records the supervisor's notify socket directory.
func (st *stateFile) setNotifyDir(dir string) {
	st.notifyDir = dir
	st.save()
}

// close releases the lock.
func (st *stateFile) close() { st.lock.Close() }
