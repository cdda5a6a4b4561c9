module example.com/exitpath

go 1.26
