package bpfrec

// The compiled object and its loader are committed (go build needs no
// clang); make generate rebuilds them with Debian's clang and libbpf-dev
// (hack/install-deps.sh generate). -no-strip is not set: bpf2go strips DWARF
// with llvm-strip so the object does not embed build paths.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -strip llvm-strip -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type rec recorder c/recorder.bpf.c -- -I./c
