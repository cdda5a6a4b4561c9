module example.com/app

go 1.26

require github.com/toilhq/toil v0.0.0
