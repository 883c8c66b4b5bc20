package ebpf

// The BPF objects are generated from guard.c and committed, so that building
// needs no clang. Regenerate (Debian: apt-get install -y clang llvm
// libbpf-dev) with: go generate ./agent/ebpf/

//go:generate go tool bpf2go -tags linux -target amd64 -cflags "-O2 -g -Wall -I/usr/include/x86_64-linux-gnu" guard guard.c
