package procfs

import (
	"strings"
	"testing"
)

const (
	id1   = "3f6b1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	id2   = "a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff"
	uid   = "0b5b1e7c-3f2a-4d3e-9c1a-2b3c4d5e6f70"
	uidSD = "0b5b1e7c_3f2a_4d3e_9c1a_2b3c4d5e6f70"
)

// v1 writes a cgroup v1 file as this machine's kernel lists it (make up:
// containerd with runc's cgroupfs driver joins every hierarchy, the named
// name=systemd one included, at the same path), plus the v2 line.
func v1(path string) string {
	var b strings.Builder
	for _, h := range []string{"9:name=systemd", "8:pids", "7:blkio", "6:freezer", "5:devices", "4:memory", "3:cpuset", "2:cpuacct", "1:cpu"} {
		b.WriteString(h + ":" + path + "\n")
	}
	b.WriteString("0::/\n")
	return b.String()
}

func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    Container
		in      bool
	}{
		// containerd, cgroupfs driver (this machine's make up, cgroup v1):
		// the container cgroup is the bare ID under pod<uid>.
		{"containerd cgroupfs besteffort", v1("/kubepods/besteffort/pod" + uid + "/" + id1), Container{"", id1, uid}, true},
		{"containerd cgroupfs burstable", v1("/kubepods/burstable/pod" + uid + "/" + id1), Container{"", id1, uid}, true},
		{"containerd cgroupfs guaranteed", v1("/kubepods/pod" + uid + "/" + id1), Container{"", id1, uid}, true},
		{"cgroupfs v2", "0::/kubepods/burstable/pod" + uid + "/" + id1 + "\n", Container{"", id1, uid}, true},
		// containerd, systemd driver.
		{"containerd systemd v2", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidSD + ".slice/cri-containerd-" + id1 + ".scope\n", Container{RuntimeContainerd, id1, uid}, true},
		{"containerd systemd guaranteed", "0::/kubepods.slice/kubepods-pod" + uidSD + ".slice/cri-containerd-" + id1 + ".scope\n", Container{RuntimeContainerd, id1, uid}, true},
		{"containerd systemd v1", v1("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidSD + ".slice/cri-containerd-" + id1 + ".scope"), Container{RuntimeContainerd, id1, uid}, true},
		// Hybrid: v1 controllers at the root, the container in the unified
		// hierarchy and name=systemd.
		{"hybrid", "5:memory:/\n1:name=systemd:/kubepods.slice/kubepods-pod" + uidSD + ".slice/cri-containerd-" + id2 + ".scope\n0::/kubepods.slice/kubepods-pod" + uidSD + ".slice/cri-containerd-" + id2 + ".scope\n", Container{RuntimeContainerd, id2, uid}, true},
		// cgroup v2 nested under the kubelet's own slice.
		{"v2 nested kubelet.slice", "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + uidSD + ".slice/cri-containerd-" + id1 + ".scope\n", Container{RuntimeContainerd, id1, uid}, true},
		// CRI-O: cgroupfs and systemd; conmon is no container.
		{"cri-o cgroupfs", v1("/kubepods/besteffort/pod" + uid + "/crio-" + id1), Container{RuntimeCRIO, id1, uid}, true},
		{"cri-o systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidSD + ".slice/crio-" + id1 + ".scope\n", Container{RuntimeCRIO, id1, uid}, true},
		{"cri-o conmon systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidSD + ".slice/crio-conmon-" + id1 + ".scope\n", Container{}, false},
		{"cri-o conmon cgroupfs", v1("/kubepods/besteffort/pod" + uid + "/crio-conmon-" + id1), Container{}, false},
		// Docker alone, and Kubernetes with dockershim or cri-dockerd.
		{"docker cgroupfs", v1("/docker/" + id1), Container{RuntimeDocker, id1, ""}, true},
		{"docker systemd", "0::/system.slice/docker-" + id1 + ".scope\n", Container{RuntimeDocker, id1, ""}, true},
		{"dockershim cgroupfs", v1("/kubepods/burstable/pod" + uid + "/" + id2), Container{"", id2, uid}, true},
		{"cri-dockerd systemd", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidSD + ".slice/docker-" + id2 + ".scope\n", Container{RuntimeDocker, id2, uid}, true},
		{"podman", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope/container\n", Container{RuntimePodman, id1, ""}, true},
		// A kind node in Docker: the innermost container wins.
		{"nested in docker", v1("/docker/" + id2 + "/kubepods/besteffort/pod" + uid + "/" + id1), Container{"", id1, uid}, true},
		// A sub-cgroup the container made under its own (systemd inside).
		{"sub-cgroup", "0::/system.slice/docker-" + id1 + ".scope/init.scope\n", Container{RuntimeDocker, id1, ""}, true},
		// Read from inside a private cgroup namespace (the agent's own).
		{"cgroupns relative", "0::/../../besteffort/pod" + uid + "/" + id1 + "\n", Container{"", id1, uid}, true},
		// Static pods have a 32-hex UID.
		{"static pod", v1("/kubepods/besteffort/pod0123456789abcdef0123456789abcdef/" + id1), Container{"", id1, "0123456789abcdef0123456789abcdef"}, true},
		// The host: this machine's own shell (a 32-hex sandbox cgroup in
		// memory), systemd services, the kubelet, the root.
		{"this machine's shell", "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/47f40af034521bee672839b47ba45b5c\n0::/\n", Container{}, false},
		{"host service", "0::/system.slice/containerd.service\n", Container{}, false},
		{"host v1 root", v1("/"), Container{}, false},
		{"pod cgroup itself", v1("/kubepods/besteffort/pod" + uid), Container{}, false},
		{"uppercase is no ID", "0::/docker/" + strings.ToUpper(id1) + "\n", Container{}, false},
		{"63 hex", "0::/docker/" + id1[1:] + "\n", Container{}, false},
		{"not a pod segment", "0::/kubepods/besteffort/podnotauid/" + id1 + "\n", Container{"", id1, ""}, true},
		{"empty", "", Container{}, false},
		{"garbage", "no colons\n::\n", Container{}, false},
		{"no final newline", "0::/docker/" + id1, Container{RuntimeDocker, id1, ""}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, in := ParseCgroup([]byte(tc.content))
			if got != tc.want || in != tc.in {
				t.Errorf("ParseCgroup(%q) = %+v, %v; want %+v, %v", tc.content, got, in, tc.want, tc.in)
			}
		})
	}
}
