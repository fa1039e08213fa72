//go:build !linux

package profile

// kernelRelease is unknown off Linux; rules with minKernel then fail to
// resolve with an error saying so.
func kernelRelease() string { return "" }
