package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
)

// histBuckets log-buckets latencies from 1 µs to about 100 s with 2 %
// resolution.
const (
	histBuckets = 1000
	histGrowth  = 1.02
)

// hist is a lock-free latency histogram that can be merged across
// processes.
type hist struct {
	counts [histBuckets]atomic.Int64
}

func bucketOf(us float64) int {
	if us < 1 {
		return 0
	}
	return min(histBuckets-1, int(math.Log(us)/math.Log(histGrowth)))
}

func (h *hist) add(us float64) { h.counts[bucketOf(us)].Add(1) }

func (h *hist) snapshot() []int64 {
	out := make([]int64, histBuckets)
	for i := range out {
		out[i] = h.counts[i].Load()
	}
	return out
}

func (h *hist) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
}

// quantile returns the q-quantile in milliseconds of merged counts.
func quantile(counts []int64, q float64) float64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return math.Pow(histGrowth, float64(i)+0.5) / 1000
		}
	}
	return math.Inf(1)
}

func mergeCounts(dst, src []int64) []int64 {
	if dst == nil {
		dst = make([]int64, histBuckets)
	}
	for i := range src {
		dst[i] += src[i]
	}
	return dst
}

// procRSS returns a process's resident set size in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("VmRSS:")) {
			f := bytes.Fields(line)
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// procCPU returns a process's user+system CPU time in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+2:])
	utime, _ := strconv.ParseFloat(string(f[11]), 64)
	stime, _ := strconv.ParseFloat(string(f[12]), 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return string(bytes.Fields(b)[0])
}
