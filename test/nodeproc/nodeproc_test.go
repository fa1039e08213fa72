package nodeproc

import (
	"os"
	"testing"
)

func TestReadStatOfSelf(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() || st.Comm == "" || st.CPU < 0 {
		t.Errorf("stat of self: %+v (parent %d)", st, os.Getppid())
	}
	if _, err := ReadStat(-1); err == nil {
		t.Error("no error for a process that cannot exist")
	}
}
