// Package apiprofile takes CPU profiles of kube-apiserver while a benchmark
// runs, to see where the apiserver's share of the machine goes.
package apiprofile

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Start takes a CPU profile of the apiserver at cfg over d, in the
// background, and writes it to file (for go tool pprof). The channel
// receives the outcome once the file is written; with file empty it
// receives nil at once.
func Start(ctx context.Context, cfg *rest.Config, d time.Duration, file string) <-chan error {
	done := make(chan error, 1)
	if file == "" {
		done <- nil
		return done
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		done <- err
		return done
	}
	go func() {
		data, err := kube.RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).DoRaw(ctx)
		if err == nil {
			err = os.WriteFile(file, data, 0o644)
		}
		if err != nil {
			err = fmt.Errorf("kube-apiserver CPU profile: %w", err)
		}
		done <- err
	}()
	return done
}

// Allocs writes the apiserver's allocation profile (allocations since it
// started) to file; two of them, one taken before and one after a
// measurement, give what the measurement allocated (go tool pprof
// -sample_index=alloc_space -base before kube-apiserver after).
func Allocs(ctx context.Context, cfg *rest.Config, file string) error {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	data, err := kube.RESTClient().Get().AbsPath("/debug/pprof/allocs").DoRaw(ctx)
	if err == nil {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("kube-apiserver allocation profile: %w", err)
	}
	return nil
}
