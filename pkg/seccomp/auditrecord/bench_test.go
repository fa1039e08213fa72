package auditrecord

import (
	"fmt"
	"testing"
)

// BenchmarkParse parses the records a busy node sends: netlink payloads
// (what the agent reads) from a few dozen commands, plus the audit.log and
// dmesg forms, naming each syscall with the record's ABI as the agent does.
func BenchmarkParse(b *testing.B) {
	var lines [][]byte
	for i := 0; i < 64; i++ {
		p := fmt.Sprintf(`audit(1796570658.%03d:%d): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=cri-containerd.apparmor.d (enforce) pid=%d comm="worker-%d" exe="/usr/local/bin/app-%d" sig=0 arch=c000003e syscall=%d compat=0 ip=0x7f8384947be7 code=0x%x`,
			i, 1000+i, 20000+i, i%24, i%24, 83+i%3, []uint32{0x50000, 0x7ffc0000}[i%2])
		switch i % 8 {
		case 6:
			p = "type=SECCOMP msg=" + p
		case 7:
			p = "[ 5478.670887] audit: type=1326 " + p
		}
		lines = append(lines, []byte(p))
	}
	var bytes int
	for _, l := range lines {
		bytes += len(l)
	}
	b.SetBytes(int64(bytes / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Parse(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := r.SyscallName(); !ok {
			b.Fatal("unnamed syscall")
		}
		_ = r.Action()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
