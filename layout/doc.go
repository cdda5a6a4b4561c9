// Package layout reads toil.yaml: the one description of a system's
// processes (services × workers, listening sockets, the front proxy, the
// backing systems) that toil dev, toil up and toil export all run from.
//
// It is the only parser of the file. [Load] and [Parse] return a validated
// [Layout] with every default filled in, or an [Errors] listing every
// problem at once, each naming file:line:col and how to fix it. [Diff] says
// what changed between two layouts in the terms a supervisor applies them
// (start or stop workers, bind a new socket, roll a service).
//
// Everything is ordered: services, routes and backing systems keep the
// order of the file, and maps come with sorted accessors, so whatever is
// generated from a layout is byte-identical from run to run.
//
// The keys are documented on the types below and, for users, in README.md
// beside this file.
package layout
