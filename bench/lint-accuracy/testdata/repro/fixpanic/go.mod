module example.com/fixpanic

go 1.26
