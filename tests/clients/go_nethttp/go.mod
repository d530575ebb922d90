module partnerclient

go 1.19
