package logger

func Hello() { L.Print("DEBUG: here") }
