package bpf

import (
	"testing"
)

// BenchmarkCompile compiles a Docker-like profile (about 350 syscalls
// allowed outright, argument rules on personality, clone and socket) for
// the x86_64 family (x86_64, x86, x32).
func BenchmarkCompile(b *testing.B) {
	p := dockerLike()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		prog, err := Compile(p, Options{Arch: "x86_64"})
		if err != nil {
			b.Fatal(err)
		}
		n = len(prog.Instructions)
	}
	b.ReportMetric(float64(n), "insns")
}

// BenchmarkSimulate runs the Docker-like program on read(2).
func BenchmarkSimulate(b *testing.B) {
	prog, err := Compile(dockerLike(), Options{Arch: "x86_64"})
	if err != nil {
		b.Fatal(err)
	}
	d := Data{Nr: 0, Arch: x8664.Audit}
	for b.Loop() {
		if _, err := Simulate(prog.Instructions, d); err != nil {
			b.Fatal(err)
		}
	}
}
