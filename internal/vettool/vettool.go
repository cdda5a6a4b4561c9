// Package vettool lets the toil binary answer `go vet -vettool`'s protocol,
// so `go vet -vettool=$(which toil) ./...` runs toil's analyzers.
//
// go vet runs the tool three ways: `toil -flags` (which flags may be
// passed on), `toil -V=full` (an ID for go's build cache) and, per package,
// `toil [flags] /abs/vet.cfg` from the package's directory. Everything past
// the handshake is golang.org/x/tools' unitchecker: the vetx files, the
// -json, -fix and -diff output formats live there and change with go.
//
// Settings come from the lint: section of the nearest toil.yaml above the
// package's directory, then from `-<analyzer>.<flag>` vet flags. Because go
// caches vet results by the tool's ID and the vet flags only, the ID printed
// for -V=full hashes the executable and the effective settings of every
// toil.yaml go vet could reach from its working directory; see BuildID.
package vettool

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/toilhq/toil/analyzers"
)

// Invoked reports whether args are a `go vet` handshake or unit call rather
// than a toil command line: a sole -V=full or -flags, or a last argument
// naming a .cfg file after nothing but flags.
func Invoked(args []string) bool {
	if len(args) == 1 && (args[0] == "-V=full" || args[0] == "-flags") {
		return true
	}
	if len(args) == 0 || !strings.HasSuffix(args[len(args)-1], ".cfg") {
		return false
	}
	for _, a := range args[:len(args)-1] {
		if !strings.HasPrefix(a, "-") {
			return false
		}
	}
	return true
}

// Main answers go vet for args (os.Args[1:]) and exits; it never returns.
func Main(args []string) {
	os.Args = append([]string{"toil"}, args...)
	// unitchecker parses the global flag set. A fresh one keeps out flags
	// that imported packages registered there (testing's -test.*, glog's
	// -v): go vet would accept them as vet flags and pass them on.
	flag.CommandLine = flag.NewFlagSet("toil", flag.ExitOnError)

	dir, err := os.Getwd()
	if err != nil {
		fatalf("%v", err)
	}
	// analysisflags adds its own -V (a hash of the executable alone) only
	// when none is registered; toil's also covers the lint settings.
	flag.Var(versionFlag{dir: dir}, "V", "print version and exit")

	list := analyzers.All()
	if strings.HasSuffix(args[len(args)-1], ".cfg") {
		// go vet runs the tool in the package's directory: the settings
		// are those of the toil.yaml above the package.
		if list, err = vetAnalyzers(args, dir); err != nil {
			fatalf("%v", err)
		}
	}
	unitchecker.Main(list...)
	os.Exit(1) // unitchecker.Main exits; this is not reached
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "toil: "+format+"\n", args...)
	os.Exit(1)
}

// versionFlag answers -V=full with toil's BuildID for the directory go vet
// runs in.
type versionFlag struct{ dir string }

func (versionFlag) IsBoolFlag() bool { return true }
func (versionFlag) String() string   { return "" }

func (v versionFlag) Set(s string) error {
	if s != "full" {
		return fmt.Errorf("unsupported -V=%s: go vet asks for -V=full", s)
	}
	id, err := BuildID(v.dir)
	if err != nil {
		fatalf("%v", err)
	}
	// "devel" tells go to key its cache on the buildID rather than on the
	// whole line (a release version string would reuse stale results).
	fmt.Printf("toil version devel buildID=%x\n", id) //toil:ignore fmtprint go vet reads this answer from stdout
	os.Exit(0)
	return nil
}

// BuildID returns the ID toil gives go vet for its cache: a hash of the
// running executable and of the lint settings go vet could apply when run
// in dir, those of the toil.yaml found walking up from dir and of every
// toil.yaml below dir that `go vet ./...` can reach. An edit to a lint:
// section changes the ID, so go vet re-runs instead of replaying results
// from its cache.
//
// A toil.yaml that cannot be read or parsed fails BuildID when it is the one
// above dir; one below dir enters the hash as its error, which the packages
// under it then report.
func BuildID(dir string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the toil executable: %w", err)
	}
	h := sha256.New()
	f, err := os.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("hash the toil executable: %w", err)
	}
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("hash the toil executable %s: %w", exe, err)
	}
	sum, err := settingsHash(dir)
	if err != nil {
		return nil, err
	}
	h.Write([]byte("\x00settings\x00"))
	h.Write(sum)
	if inModule(dir) {
		if err := hashNested(h, dir); err != nil {
			return nil, err
		}
	}
	return h.Sum(nil), nil
}

// hashNested writes into h the settings hash of each directory strictly
// below dir that holds a toil.yaml, skipping what `./...` skips.
func hashNested(h io.Writer, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable directory holds no package go vet could vet.
			if d != nil && d.IsDir() && path != dir {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			name := d.Name()
			if path != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if !isSettingsFile(d.Name()) || filepath.Dir(path) == dir {
			return nil
		}
		sub := filepath.Dir(path)
		rel, _ := filepath.Rel(dir, sub)
		sum, err := settingsHash(sub)
		if err != nil {
			sum = []byte("error: " + err.Error())
		}
		fmt.Fprintf(h, "\x00%s\x00%x", filepath.ToSlash(rel), sum)
		return nil
	})
}
