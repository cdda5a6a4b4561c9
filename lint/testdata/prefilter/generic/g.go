package generic

type printer[T any] struct{}

func (printer[T]) Println(v T) {}

func Hello() {
	printer[int]{}.Println(1) // a user's method: no finding
	print[int](2)             // a user's generic print: no finding
}

func print[T any](v T) {}
