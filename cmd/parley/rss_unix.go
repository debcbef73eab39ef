//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// peakRSSMB returns this process's peak resident memory in MB, or 0 if the
// system does not say.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) / (1 << 20) // bytes there
	}
	return float64(ru.Maxrss) / (1 << 10) // kilobytes elsewhere
}
