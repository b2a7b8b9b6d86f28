module github.com/seqae/seqae

go 1.26.8
