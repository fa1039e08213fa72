package enricher

import (
	"context"
	"sync"
	"time"
)

// A container's first records can come before its pod's status names it:
// the runtime starts the process, and the kubelet reports the container's
// ID a moment later. Those are often the records that matter (a profile
// that denies something at start), so a record of an unknown container
// waits, up to pendingTTL, for the pod watch to name it; then it is
// counted as unattributed (no_pod).
const (
	pendingTTL = 5 * time.Second
	maxPending = 4096
)

type pendingRecord struct {
	id string
	r  Record
	at time.Time
}

// pending holds records of containers the index does not know yet, oldest
// first.
type pending struct {
	mu   sync.Mutex
	recs []pendingRecord
}

// hold keeps a record of container id; a full buffer refuses it.
func (a *attributor) hold(id string, r Record) {
	a.pend.mu.Lock()
	defer a.pend.mu.Unlock()
	a.expireLocked(a.now())
	if len(a.pend.recs) >= maxPending {
		countUnattributed(ReasonNoPod)
		return
	}
	a.pend.recs = append(a.pend.recs, pendingRecord{id: id, r: r, at: a.now()})
}

// retry attributes the waiting records whose containers the index now
// knows (after a pod update).
func (a *attributor) retry() {
	a.pend.mu.Lock()
	defer a.pend.mu.Unlock()
	kept := a.pend.recs[:0]
	for _, p := range a.pend.recs {
		if c := a.index.get(p.id); c != nil {
			a.count(c, p.r)
			continue
		}
		kept = append(kept, p)
	}
	clear(a.pend.recs[len(kept):])
	a.pend.recs = kept
}

// expireLocked counts the records that waited pendingTTL as unattributed.
func (a *attributor) expireLocked(now time.Time) {
	n := 0
	for n < len(a.pend.recs) && now.Sub(a.pend.recs[n].at) >= pendingTTL {
		countUnattributed(ReasonNoPod)
		n++
	}
	if n > 0 {
		a.pend.recs = append(a.pend.recs[:0], a.pend.recs[n:]...)
	}
}

// expireLoop expires waiting records every second until ctx ends.
func (a *attributor) expireLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.pend.mu.Lock()
			a.expireLocked(a.now())
			a.pend.mu.Unlock()
		}
	}
}

// waiting is the number of records waiting for their container.
func (a *attributor) waiting() int {
	a.pend.mu.Lock()
	defer a.pend.mu.Unlock()
	return len(a.pend.recs)
}
