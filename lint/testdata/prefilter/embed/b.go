package embed

func Show(t T, v any) {
	t.Dump(v)
}
