module github.com/parquetrail/parquetrail

go 1.26.8
