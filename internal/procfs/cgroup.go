// Package procfs is the node roles' one reader of /proc: which container a
// process belongs to (ParseCgroup, the one cgroup-path parser), what seccomp
// state the kernel holds for it (Status), every container's processes on
// the node (Scan), and a pid → container cache that still attributes the
// records of processes that have exited (Cache). It uses only the standard
// library and golang.org/x/sys; root is "/proc" or a host proc mount such as
// "/host/proc".
package procfs

import (
	"bytes"
)

// Runtimes a cgroup path can name.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
	RuntimePodman     = "podman"
)

// Container is what a process's cgroup path says of its container.
type Container struct {
	// Runtime is the runtime the path names ("containerd", "cri-o",
	// "docker", "podman"), or "" when it names none: under the cgroupfs
	// driver both containerd and dockershim/cri-dockerd name the container
	// cgroup by its bare ID, so the pod's containerStatuses prefix tells.
	Runtime string
	// ID is the 64-hex container ID, as in a pod's
	// status.containerStatuses[].containerID after "<runtime>://". The
	// pod's sandbox (pause) container has an ID of its own that matches no
	// container status.
	ID string
	// PodUID is the pod's UID (with dashes) when the path carries it, else "".
	PodUID string
}

// ParseCgroup reads the content of /proc/<pid>/cgroup: cgroup v1 lines
// "N:ctrl,ctrl:/path" (one per hierarchy, named ones such as name=systemd
// included), the v2 line "0::/path", or both (hybrid). The first line whose
// path holds a container names it; within a path the innermost (last)
// container segment wins, so a container nested in another (a kind node in
// Docker) and sub-cgroups a container creates under its own (systemd in a
// container) resolve to the innermost container. The container segments:
//
//	<64 hex>                          containerd, dockershim and cri-dockerd with the cgroupfs driver; /docker/<id>
//	cri-containerd-<id>.scope         containerd with the systemd driver
//	crio-<id>.scope, crio-<id>        CRI-O with the systemd and cgroupfs drivers
//	docker-<id>.scope                 Docker and cri-dockerd with the systemd driver
//	libpod-<id>.scope                 Podman
//
// CRI-O's monitor (crio-conmon-<id>.scope) is no container. The pod UID
// comes from the segment just above the container: pod<uid> (cgroupfs) or
// ...-pod<uid_with_underscores>.slice (systemd). A process outside every
// container (the host, the kubelet, a pod's conmon) gives false.
func ParseCgroup(content []byte) (Container, bool) {
	for len(content) > 0 {
		line := content
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			content = nil
		}
		// The path is everything after the second colon: it may hold colons.
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		if c, ok := parsePath(line[i+1+j+1:]); ok {
			return c, true
		}
	}
	return Container{}, false
}

// parsePath finds the innermost container segment of one cgroup path.
func parsePath(path []byte) (Container, bool) {
	end := len(path)
	for end > 0 {
		start := bytes.LastIndexByte(path[:end], '/') + 1
		seg := path[start:end]
		if runtime, id, ok := containerSegment(seg); ok {
			var parent []byte
			if start > 0 {
				p := path[:start-1]
				parent = p[bytes.LastIndexByte(p, '/')+1:]
			}
			if runtime == "" && string(parent) == "docker" {
				runtime = RuntimeDocker
			}
			return Container{Runtime: runtime, ID: string(id), PodUID: podUID(parent)}, true
		}
		end = start - 1
	}
	return Container{}, false
}

// scopePrefixes are the runtimes' names for a container cgroup, prefix to
// runtime.
var scopePrefixes = []struct {
	prefix  string
	runtime string
}{
	{"cri-containerd-", RuntimeContainerd},
	{"crio-", RuntimeCRIO},
	{"docker-", RuntimeDocker},
	{"libpod-", RuntimePodman},
}

func containerSegment(seg []byte) (runtime string, id []byte, ok bool) {
	if isID(seg) {
		return "", seg, true
	}
	rest := bytes.TrimSuffix(seg, []byte(".scope"))
	for _, p := range scopePrefixes {
		if len(rest) == len(p.prefix)+64 && string(rest[:len(p.prefix)]) == p.prefix && isID(rest[len(p.prefix):]) {
			return p.runtime, rest[len(p.prefix):], true
		}
	}
	return "", nil, false
}

// isID: a container ID is 64 lowercase hex digits.
func isID(b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// podUID reads the pod UID from the segment above a container's:
// "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid_with_underscores>.slice"
// (systemd; also nested, "kubelet-kubepods-besteffort-pod<uid>.slice").
// UIDs are UUIDs, or 32 hex digits for static pods.
func podUID(seg []byte) string {
	var raw []byte
	if u, ok := bytes.CutPrefix(seg, []byte("pod")); ok {
		raw = u
	} else if s, ok := bytes.CutSuffix(seg, []byte(".slice")); ok {
		i := bytes.LastIndex(s, []byte("-pod"))
		if i < 0 {
			return ""
		}
		raw = s[i+len("-pod"):]
	} else {
		return ""
	}
	if len(raw) < 32 || len(raw) > 36 {
		return ""
	}
	out := make([]byte, len(raw))
	for i, c := range raw {
		switch {
		case c == '_' || c == '-':
			out[i] = '-'
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			out[i] = c
		default:
			return ""
		}
	}
	return string(out)
}
