package procfs

import (
	"os"
	"testing"
)

// A process that starts now starts after a mark taken before it, and no
// later than a mark taken after it: the recorder's FromStart compares the
// two clocks.
func TestStartTimeOnBootTicksClock(t *testing.T) {
	before, err := BootTicks()
	if err != nil {
		t.Fatal(err)
	}
	self, err := StartTime("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	after, err := BootTicks()
	if err != nil {
		t.Fatal(err)
	}
	if self > after {
		t.Errorf("this process started at %d, after the present %d", self, after)
	}
	if before < after && before+1 < self {
		// This test process started before the test ran.
		t.Errorf("this process started at %d, after the mark %d taken in the test", self, before)
	}
	if _, err := StartTime("/proc", 1<<30); err == nil {
		t.Error("a pid that cannot exist has a start time")
	}
}
