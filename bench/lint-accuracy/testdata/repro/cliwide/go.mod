module example.com/cliwide

go 1.26
