// Package watch is toil dev's file watcher: it follows a project tree with
// inotify (fsnotify) and delivers batches of the files whose content
// changed, for the builder and supervisor to act on.
//
// What it watches is what git does not ignore: the .gitignore files at
// every level, .git/info/exclude and core.excludesFile, with git's exact
// semantics (tested against `git check-ignore`), plus .git, toil's own
// .toil/ and [Options.Ignore]. Ignored directories get no inotify watch,
// which keeps big trees under the kernel's watch limit; reaching it anyway
// is a [LimitError] that says which sysctl to raise.
//
// A batch goes out after a trailing quiet time ([Options.Debounce], capped
// by [Options.MaxWait] while changes keep coming), so a burst of saves, a
// `git checkout` or an editor's rename dance is one batch. Content is
// hashed: a save that changes nothing, a touch, or a chmod yields no batch.
//
//	w, err := watch.New(dir, watch.Options{ConfigFiles: svc.Config})
//	if err != nil {
//		return err
//	}
//	go func() { errc <- w.Run(ctx) }()
//	for b := range w.Events() {
//		if b.Has(watch.Go) || b.Has(watch.GoMod) {
//			rebuild(ctx, b)
//		}
//	}
package watch
