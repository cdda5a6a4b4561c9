module example.com/fixunused

go 1.26
