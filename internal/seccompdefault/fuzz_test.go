package seccompdefault

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A Node's nodeInfo is outside input: any runtime version, architecture
// and kernel gives a target or a problem, never a panic, and a target
// names a default.
func FuzzNodeTarget(f *testing.F) {
	for _, s := range []string{"containerd://1.6.20", "containerd://v1.7.35-rc.1", "containerd://1.6.20~ds1-1+deb12u3", "cri-o://1.28.1",
		"docker://24.0.7", "containerd://", "://", "containerd://9999999999999999999999.1", "containerd://1..2", ""} {
		f.Add(s, "amd64", "6.1.0")
	}
	f.Fuzz(func(t *testing.T, rv, arch, kernel string) {
		n := &corev1.Node{Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: rv, Architecture: arch, KernelVersion: kernel}}}
		got := NodeTarget("n", n, "")
		if (got.Against == "") == (got.Problem == "") || (got.Against != "") != (got.profile != nil) {
			t.Fatalf("%q: %+v", rv, got)
		}
	})
}

// A recording's status is written by the manager but read back from the
// cluster: any architectures, syscall names and runtime-only marks ("!"
// before a name), and a learned profile of those names, give a verdict,
// never a panic.
func FuzzRecordedEvidence(f *testing.F) {
	f.Add("x86_64", "read,write,unshare", "")
	f.Add("i386", "socketcall,mount", "mount")
	f.Add("aarch64", "clone3", "")
	f.Add("arm", "nonexistent,,", "")
	f.Add("x86_64", "read,!mount,!pivot_root,!,keyctl", "pivot_root")
	f.Fuzz(func(t *testing.T, abi, names, wouldDeny string) {
		rec := recordingOf("fz")
		rec.Status.Containers[0].Architectures = []string{abi, "x86_64"}
		rec.Status.Containers[0].Syscalls = nil
		var all []string
		for _, n := range splitComma(names) {
			rt := len(n) > 0 && n[0] == '!'
			if rt {
				n = n[1:]
			}
			all = append(all, n)
			rec.Status.Containers[0].Syscalls = append(rec.Status.Containers[0].Syscalls, v1alpha1.RecordedSyscall{Name: n, Replicas: 1, RuntimeOnly: rt})
		}
		rec.Status.Containers[0].Profile = "learned"
		rec.Status.Containers[0].WouldDeny = splitComma(wouldDeny)
		learned := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "learned"}, Spec: v1alpha1.SeccompProfileSpec{
			DefaultAction: "SCMP_ACT_ERRNO", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"},
			Syscalls: []v1alpha1.SyscallRule{{Names: all, Action: "SCMP_ACT_ALLOW"}}}}
		src := &Sources{Recordings: []v1alpha1.ProfileRecording{rec}, Profiles: map[string]*v1alpha1.SeccompProfile{"learned": learned}}
		p := pod("fz", nil)
		target := NodeTarget("n1", node("containerd://1.6.20"), "")
		row := NewEvaluator(nil).Judge(Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: "NodeDefault"}, p, &target, src.For(p, "app"))
		if row.Verdict == "" || row.Verdict == Breaks && len(row.Refused) == 0 {
			t.Fatalf("%+v", row)
		}
	})
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
