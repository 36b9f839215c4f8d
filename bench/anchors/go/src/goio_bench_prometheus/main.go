// SPDX-License-Identifier: MIT
// Command goio_bench_prometheus is the anchor of bench/prometheus:
// client_golang 1.14 (Debian's golang-github-prometheus-client-golang-dev)
// on the same workloads as goio's bench_prometheus. It prints
// "RESULT <case> <value>": ns per operation for single-goroutine cases,
// operations per second for the _2t cases (two goroutines, GOMAXPROCS 2),
// ms per exposition for exposition_10k, expositions per second for
// exposition_10k_2t.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var labelNames = []string{"serviceName", "version", "method", "path", "status"}

// tuples are the label values the lookups cycle through: 4 methods x 16
// paths x 4 statuses, as a service's request tracker sees them.
func tuples() [][]string {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	statuses := []string{"200", "201", "404", "500"}
	var out [][]string
	for _, m := range methods {
		for p := 0; p < 16; p++ {
			for _, s := range statuses {
				out = append(out, []string{"catalog", "1.4.2", m,
					"/api/v1/items/" + strconv.Itoa(p), s})
			}
		}
	}
	return out
}

// parallel runs body(g) on `threads` goroutines started together and
// returns the wall time.
func parallel(threads int, body func(g int)) time.Duration {
	runtime.GOMAXPROCS(threads)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for g := 0; g < threads; g++ {
		ready.Add(1)
		done.Add(1)
		go func(g int) {
			defer done.Done()
			ready.Done()
			<-gate
			body(g)
		}(g)
	}
	ready.Wait()
	start := time.Now()
	close(gate)
	done.Wait()
	return time.Since(start)
}

// result turns n ops in d on `threads` goroutines into the case's unit.
func result(threads, n int, d time.Duration) float64 {
	if threads == 1 {
		return float64(d.Nanoseconds()) / float64(n)
	}
	return float64(threads*n) / d.Seconds()
}

func heldCounter(threads, n int) float64 {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "c"})
	d := parallel(threads, func(int) {
		for i := 0; i < n; i++ {
			c.Inc()
		}
	})
	return result(threads, n, d)
}

func heldHistogram(threads, n int) float64 {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h_seconds", Help: "h"})
	values := make([]float64, 1024)
	for i := range values {
		values[i] = float64(i%200) * 0.001 * float64(1+i%7)
	}
	d := parallel(threads, func(int) {
		for i := 0; i < n; i++ {
			h.Observe(values[i&1023])
		}
	})
	return result(threads, n, d)
}

func newVec() (*prometheus.CounterVec, [][]string) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "req_total", Help: "r"}, labelNames)
	ts := tuples()
	for _, t := range ts {
		v.WithLabelValues(t...) // steady state: children exist
	}
	return v, ts
}

func lookupInc(threads, n int) float64 {
	v, ts := newVec()
	d := parallel(threads, func(g int) {
		for i := 0; i < n; i++ {
			v.WithLabelValues(ts[(i+g*17)%len(ts)]...).Inc()
		}
	})
	return result(threads, n, d)
}

// mapInc is the Go library's path: a fresh prometheus.Labels map per
// call (getDefaultLabels), then With(labels).Inc().
func mapInc(threads, n int) float64 {
	v, ts := newVec()
	d := parallel(threads, func(g int) {
		for i := 0; i < n; i++ {
			t := ts[(i+g*17)%len(ts)]
			labels := prometheus.Labels{"serviceName": t[0], "version": t[1],
				"method": t[2], "path": t[3], "status": t[4]}
			v.With(labels).Inc()
		}
	})
	return result(threads, n, d)
}

// gaugeIncDec is one op = lookup+Inc then lookup+Dec, as OpenRequest and
// CloseRequest do with io_http_requests_current.
func gaugeIncDec(threads, n int) float64 {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cur", Help: "c"}, labelNames[:4])
	ts := tuples()
	d := parallel(threads, func(g int) {
		for i := 0; i < n; i++ {
			t := ts[(i+g*17)%len(ts)][:4]
			v.WithLabelValues(t...).Inc()
			v.WithLabelValues(t...).Dec()
		}
	})
	return result(threads, n, d)
}

// exposition renders `series` counter series in the text format, the way
// promhttp does (Gather, then encode every family into a reused buffer).
func exposition(threads, series, n int) float64 {
	reg := prometheus.NewRegistry()
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "series_total", Help: "s"},
		[]string{"shard", "key"})
	reg.MustRegister(v)
	for i := 0; i < series; i++ {
		v.WithLabelValues(strconv.Itoa(i%16), "key-"+strconv.Itoa(i)).Add(float64(i))
	}
	d := parallel(threads, func(int) {
		var buf bytes.Buffer
		for i := 0; i < n; i++ {
			buf.Reset()
			mfs, err := reg.Gather()
			if err != nil {
				panic(err)
			}
			enc := expfmt.NewEncoder(&buf, expfmt.FmtText)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					panic(err)
				}
			}
		}
	})
	if threads == 1 {
		return float64(d.Nanoseconds()) / 1e6 / float64(n)
	}
	return float64(threads*n) / d.Seconds()
}

func main() {
	name := flag.String("case", "", "case to run")
	ops := flag.Int("ops", 1000000, "operations per goroutine")
	series := flag.Int("series", 10000, "series for exposition")
	flag.Parse()
	cases := map[string]func(threads int) float64{
		"held_counter_inc":       func(t int) float64 { return heldCounter(t, *ops) },
		"held_histogram_observe": func(t int) float64 { return heldHistogram(t, *ops) },
		"labels_lookup_inc":      func(t int) float64 { return lookupInc(t, *ops) },
		"labels_map_inc":         func(t int) float64 { return mapInc(t, *ops) },
		"gauge_vec_incdec":       func(t int) float64 { return gaugeIncDec(t, *ops) },
		"exposition_10k":         func(t int) float64 { return exposition(t, *series, *ops) },
	}
	base, threads := *name, 1
	if len(base) > 3 && base[len(base)-3:] == "_2t" {
		base, threads = base[:len(base)-3], 2
	}
	run, ok := cases[base]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown case %q\n", *name)
		os.Exit(2)
	}
	fmt.Printf("RESULT %s %g\n", *name, run(threads))
}
