package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// The child half of TestCrashSafety runs in a re-executed test binary with
// these variables set.
const (
	envCrashRoot = "AGENT_CRASH_CHILD_ROOT"
	envCrashGen  = "AGENT_CRASH_CHILD_GEN"
)

const (
	crashFiles    = 4
	crashFileSize = 1 << 20 // large enough that a write spans many syscalls
)

func crashRels() []string {
	rels := []string{webappAlias}
	for f := 0; f < crashFiles-1; f++ {
		rels = append(rels, profilePath(fmt.Sprintf("crash-%d", f)))
	}
	return rels
}

// crashContent is file f's content in generation gen: a header naming both,
// then a line naming both repeated up to crashFileSize. Any prefix, mix of two
// generations or zero-filled hole fails checkCrashContent. bytes.Repeat keeps
// it cheap, so the child spends its time writing, where the kills must land.
func crashContent(gen, f int) []byte {
	header := fmt.Sprintf("gen=%d file=%d size=%d\n", gen, f, crashFileSize)
	line := fmt.Sprintf("gen %d file %d\n", gen, f)
	body := bytes.Repeat([]byte(line), (crashFileSize-len(header))/len(line)+1)
	return append([]byte(header), body[:crashFileSize-len(header)]...)
}

// checkCrashContent reports whether data is file f's complete content of
// some generation, and which.
func checkCrashContent(data []byte, f int) (int, error) {
	header, _, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return 0, fmt.Errorf("no header line in %d bytes", len(data))
	}
	var gen, file, size int
	if _, err := fmt.Sscanf(string(header), "gen=%d file=%d size=%d", &gen, &file, &size); err != nil {
		return 0, fmt.Errorf("bad header %q: %v", header, err)
	}
	if file != f {
		return gen, fmt.Errorf("header names file %d, want %d", file, f)
	}
	if !bytes.Equal(data, crashContent(gen, f)) {
		return gen, fmt.Errorf("generation %d content differs (%d bytes)", gen, len(data))
	}
	return gen, nil
}

// TestCrashChild is the child of TestCrashSafety: it installs new
// generations of every file in a loop until it is killed.
func TestCrashChild(t *testing.T) {
	root := os.Getenv(envCrashRoot)
	if root == "" {
		t.Skip("only runs as TestCrashSafety's child")
	}
	gen, err := strconv.Atoi(os.Getenv(envCrashGen))
	if err != nil {
		t.Fatal(err)
	}
	in := &Installer{Root: root}
	rels := crashRels()
	fmt.Println("started")
	deadline := time.Now().Add(30 * time.Second) // never outlive a lost parent
	for ; time.Now().Before(deadline); gen++ {
		// Alternate the two write paths the agent uses.
		if gen%2 == 0 {
			for f, rel := range rels {
				if _, err := in.Install(rel, crashContent(gen, f)); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			desired := map[string][]byte{}
			for f, rel := range rels {
				desired[rel] = crashContent(gen, f)
			}
			if _, err := in.Sync(desired, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCrashSafety kills a writing agent at random moments and checks that no
// reader could ever have seen a partial file: after each SIGKILL every file
// present is one generation's complete content, and the next Sync leaves no
// temporary file behind.
func TestCrashSafety(t *testing.T) {
	// 60 kills take about 5 s; with roughly a third of them landing
	// mid-write, the "proved nothing" check below cannot flake.
	const iterations = 60
	in := newInstaller(t)
	rels := crashRels()
	opDir := filepath.Dir(nodepath.Abs(in.Root, rels[1]))
	aliasDir := filepath.Dir(nodepath.Abs(in.Root, webappAlias))
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))

	midWrite := 0 // kills that left a temporary file: proof the kills land mid-write
	gen := 0
	for it := 0; it < iterations; it++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashRoot+"="+in.Root, envCrashGen+"="+strconv.Itoa(gen))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "started" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child did not start: %q, %v", line, err)
		}
		time.Sleep(time.Duration(rng.IntN(100_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("iteration %d: child ended with %v, want killed (it must still be writing)", it, err)
		}

		temps := 0
		for _, dir := range []string{opDir, aliasDir} {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), TempPrefix) {
					temps++
				}
			}
		}
		if temps > 0 {
			midWrite++
		}
		maxGen := gen
		for f, rel := range rels {
			data, err := os.ReadFile(nodepath.Abs(in.Root, rel))
			if os.IsNotExist(err) {
				continue // not written yet in the first iteration
			}
			if err != nil {
				t.Fatal(err)
			}
			g, err := checkCrashContent(data, f)
			if err != nil {
				t.Fatalf("iteration %d: %s is corrupt after SIGKILL: %v", it, rel, err)
			}
			// Old (what the last Sync left) or new (what this child wrote).
			if it > 0 && g != gen-1 && g < gen {
				t.Fatalf("iteration %d: %s holds generation %d, neither the old %d nor a new one", it, rel, g, gen-1)
			}
			maxGen = max(maxGen, g)
		}

		// The next agent's first Sync cleans the leftovers and converges.
		desired := map[string][]byte{}
		for f, rel := range rels {
			desired[rel] = crashContent(maxGen, f)
		}
		in = &Installer{Root: in.Root} // a restarted agent
		res, err := in.Sync(desired, nil)
		if err != nil {
			t.Fatalf("iteration %d: Sync after kill: %v", it, err)
		}
		if res.Cleaned != temps {
			t.Errorf("iteration %d: Sync cleaned %d temporary files, %d were there", it, res.Cleaned, temps)
		}
		assertNoTemps(t, opDir)
		assertNoTemps(t, aliasDir)
		for f, rel := range rels {
			if g, err := checkCrashContent(readRel(t, in, rel), f); err != nil || g != maxGen {
				t.Fatalf("iteration %d: %s after Sync: generation %d, %v; want %d", it, rel, g, err, maxGen)
			}
		}
		gen = maxGen + 1
	}
	t.Logf("%d kills, %d of them mid-write, %d generations written", iterations, midWrite, gen)
	if midWrite == 0 {
		t.Errorf("no kill landed in the middle of a write: the test proved nothing")
	}
}
