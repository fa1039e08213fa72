package bpf

import "testing"

func TestStrictest(t *testing.T) {
	for _, tc := range []struct {
		rets []uint32
		want uint32
	}{
		{nil, RetAllow},
		{[]uint32{RetAllow, RetLog}, RetLog},
		{[]uint32{RetErrno | 1, RetAllow}, RetErrno | 1},
		{[]uint32{RetTrap, RetErrno | 1}, RetTrap},
		{[]uint32{RetKillThread, RetKillProcess}, RetKillProcess},
		{[]uint32{RetKillThread, RetTrap}, RetKillThread},
		// A tie keeps the newest (first) filter's data.
		{[]uint32{RetErrno | 38, RetErrno | 1}, RetErrno | 38},
		{[]uint32{RetUserNotif, RetTrace | 3, RetErrno | 13}, RetErrno | 13},
	} {
		if got := Strictest(tc.rets); got != tc.want {
			t.Errorf("Strictest(%#x) = %#x, want %#x", tc.rets, got, tc.want)
		}
	}
}
