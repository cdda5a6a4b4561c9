module example.com/prefilter

go 1.22
