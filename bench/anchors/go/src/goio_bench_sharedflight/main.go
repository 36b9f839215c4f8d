// SPDX-License-Identifier: MIT
// The anchor for bench/sharedflight: golang.org/x/sync/singleflight (Debian
// golang-golang-x-sync-dev), measured the same way as goio.
//
//	anchor_sharedflight uncontended OPS ROUNDS
//	    -> "ns_per_op=<v>"  (Do on one key, trivial fn, one goroutine;
//	       the best of ROUNDS rounds of OPS/ROUNDS calls)
//	anchor_sharedflight herd N FN_MS REPS
//	    -> one line per rep: "wall_ms=<v> executions=<n>"
//	       (N goroutines parked on a gate, released at once, all calling
//	       Do on one key whose fn sleeps FN_MS; wall time from the release
//	       until the last Do returned)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad number:", s)
		os.Exit(2)
	}
	return n
}

func uncontended(ops, rounds int) {
	var g singleflight.Group
	fn := func() (interface{}, error) { return 1, nil }
	for i := 0; i < ops/10; i++ { // warm up
		g.Do("key", fn)
	}
	best := 0.0
	for r := 0; r < rounds; r++ {
		n := ops / rounds
		start := time.Now()
		for i := 0; i < n; i++ {
			g.Do("key", fn)
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(n)
		if r == 0 || ns < best {
			best = ns
		}
	}
	fmt.Printf("ns_per_op=%.2f\n", best)
}

func herdOnce(n int, fnDur time.Duration) (time.Duration, int64) {
	var g singleflight.Group
	var executions int64
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	fn := func() (interface{}, error) {
		atomic.AddInt64(&executions, 1)
		time.Sleep(fnDur)
		return 1, nil
	}
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			ready.Done()
			<-gate
			g.Do("herd", fn)
			done.Done()
		}()
	}
	ready.Wait()
	start := time.Now()
	close(gate)
	done.Wait()
	return time.Since(start), atomic.LoadInt64(&executions)
}

func main() {
	if len(os.Args) >= 4 && os.Args[1] == "uncontended" {
		uncontended(atoi(os.Args[2]), atoi(os.Args[3]))
		return
	}
	if len(os.Args) >= 5 && os.Args[1] == "herd" {
		n, fnMs, reps := atoi(os.Args[2]), atoi(os.Args[3]), atoi(os.Args[4])
		for r := 0; r < reps; r++ {
			wall, ex := herdOnce(n, time.Duration(fnMs)*time.Millisecond)
			fmt.Printf("wall_ms=%.3f executions=%d\n",
				float64(wall.Nanoseconds())/1e6, ex)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: anchor_sharedflight uncontended OPS ROUNDS | herd N FN_MS REPS")
	os.Exit(2)
}
