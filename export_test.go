package toil

// MainExit is Main without os.Exit, for tests of exit codes and --help.
var MainExit = mainExit
