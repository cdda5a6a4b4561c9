package toil

// Version is the version of the running service's build. `toil build`
// stamps it with -ldflags "-X github.com/toilhq/toil.Version=..." from
// `git describe --tags --always --dirty` of the repository holding
// toil.yaml (or --version); it is empty in builds nobody stamped, such as
// `toil run` and `toil dev`. The commit is in the build info too
// (vcs.revision), for `go version -m`.
var Version string
