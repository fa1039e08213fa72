package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
)

const benchProfiles = 1000

// benchDesired returns 1000 profiles of about 10 KiB, shaped like real ones
// (an indented syscall list) so the sizes match what the agent writes.
func benchDesired() map[string][]byte {
	desired := make(map[string][]byte, benchProfiles)
	for i := range benchProfiles {
		var b bytes.Buffer
		fmt.Fprintf(&b, "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"comment\": \"profile %d\",\n  \"syscalls\": [\n", i)
		for n := 0; b.Len() < 10<<10; n++ {
			fmt.Fprintf(&b, "    {\"names\": [\"syscall_%d_%d\"], \"action\": \"SCMP_ACT_ALLOW\"},\n", i, n)
		}
		b.WriteString("  ]\n}\n")
		desired[profilePath(fmt.Sprintf("profile-%04d", i))] = b.Bytes()
	}
	return desired
}

// benchRoot is a fresh kubelet root on the real disk: TMPDIR must not be a
// tmpfs, or the fsyncs cost nothing and the numbers mean nothing.
func benchRoot(b *testing.B) string {
	dir, err := os.MkdirTemp("", "agent-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Type == 0x01021994 { // TMPFS_MAGIC
		b.Logf("warning: %s is on tmpfs, fsync is free there; set TMPDIR to a disk", dir)
	}
	return dir
}

// BenchmarkInstall1000 installs 1000 new ~10 KiB profiles into an empty root
// on the real disk, with every fsync; ns/profile is the per-file cost.
//   - Install: one Install call per profile (file fsync + directory fsync each)
//   - Sync/workers=N: one Sync of all 1000 (file fsync each, one directory
//     fsync), N files written concurrently
//   - SyncUnchanged: a Sync when all 1000 are already correct (the idle
//     resync: reads and compares, writes nothing)
func BenchmarkInstall1000(b *testing.B) {
	desired := benchDesired()
	rels := sortedKeys(desired)
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*benchProfiles), "ns/profile")
	}

	b.Run("Install", func(b *testing.B) {
		var elapsed time.Duration
		for b.Loop() {
			b.StopTimer()
			in := &Installer{Root: benchRoot(b)}
			b.StartTimer()
			start := time.Now()
			for _, rel := range rels {
				if changed, err := in.Install(rel, desired[rel]); err != nil || !changed {
					b.Fatalf("Install %s = %v, %v", rel, changed, err)
				}
			}
			elapsed += time.Since(start)
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*benchProfiles), "ns/profile")
	})

	for _, workers := range []int{1, syncWorkers} {
		b.Run(fmt.Sprintf("Sync/workers=%d", workers), func(b *testing.B) {
			defer func(w int) { syncWorkers = w }(syncWorkers)
			syncWorkers = workers
			benchSync(b, desired)
		})
	}

	b.Run("SyncUnchanged", func(b *testing.B) {
		in := &Installer{Root: benchRoot(b)}
		if _, err := in.Sync(desired, nil); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			res, err := in.Sync(desired, nil)
			if err != nil || res.Changed() {
				b.Fatalf("idle Sync = %+v, %v", res, err)
			}
		}
		report(b, start)
	})
}

func benchSync(b *testing.B, desired map[string][]byte) {
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		in := &Installer{Root: benchRoot(b)}
		b.StartTimer()
		start := time.Now()
		res, err := in.Sync(desired, nil)
		if err != nil || len(res.Installed) != benchProfiles {
			b.Fatalf("Sync = %d installed, %v", len(res.Installed), err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*benchProfiles), "ns/profile")
}

// BenchmarkPassUnchanged is one full pass of a node with 1000 installed
// profiles when nothing changed: what every batch of events costs an agent
// on top of the profiles it renders (during a rollout, a pass runs every
// few hundred milliseconds while the profiles keep arriving).
func BenchmarkPassUnchanged(b *testing.B) {
	sp, _ := webappProfile(&testing.T{}, "p", nil)
	c := &memCluster{}
	for i := range benchProfiles {
		p := sp.DeepCopy()
		p.Name, p.UID, p.Generation = fmt.Sprintf("profile-%04d", i), types.UID(fmt.Sprintf("uid-%d", i)), 1
		c.profiles = append(c.profiles, p)
	}
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: b.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}, MinStatusInterval: time.Nanosecond}
	ctx := context.Background()
	if _, err := r.Reconcile(ctx); err != nil {
		b.Fatal(err)
	}
	// As in a running agent, whose Watch watches the operator directory.
	r.Installer.setWatched(map[string]bool{r.Installer.operatorDir(): true})
	for b.Loop() {
		if _, err := r.Reconcile(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if c.writes["update"] > 0 {
		b.Fatalf("unchanged passes wrote the node state: %v", c.writes)
	}
}
