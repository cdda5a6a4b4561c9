module example.com/product

go 1.26
