package runner

// MainSource is the generated main that runs svc, passing svc.Name to
// toil.Main: the very source `toil run` builds, exposed for toil dev's
// builder (devloop/build), which maps it into the module with -overlay the
// same way so the service may live in an internal/ package.
func MainSource(svc Service) []byte {
	src, _ := mainSource(svc)
	return src
}
