// SPDX-License-Identifier: MIT
// Command goio_bench_redis is the Go anchor for bench/redis: the Go
// library's own Redis stack (a redigo Pool with MaxIdle 10, MaxActive 20,
// Wait, the same dial timeouts and test-on-borrow), driven by N
// goroutines doing GET for a fixed time. It prints one line:
//
//	ops=<n> seconds=<wall> cpu_seconds=<user+sys of this process> errors=<n>
//
// cpu_seconds covers the timed phase only (getrusage before and after).
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

func newPool(endpoint string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     10,
		MaxActive:   20,
		Wait:        true,
		IdleTimeout: 3 * time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", endpoint,
				redis.DialConnectTimeout(time.Second),
				redis.DialReadTimeout(200*time.Millisecond),
				redis.DialWriteTimeout(200*time.Millisecond))
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if time.Since(t) < 30*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) +
		float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// get does what the Go library's Get does: borrow, GET, give back.
func get(pool *redis.Pool, key string) error {
	c := pool.Get()
	defer c.Close()
	_, err := redis.Bytes(c.Do("GET", key))
	return err
}

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:6379", "redis host:port")
	threads := flag.Int("threads", 8, "goroutines")
	seconds := flag.Float64("seconds", 1, "timed phase length")
	key := flag.String("key", "bench:k", "key to GET (must exist)")
	flag.Parse()

	pool := newPool(*endpoint)
	defer pool.Close()
	if err := get(pool, *key); err != nil {
		fmt.Fprintln(os.Stderr, "warm-up GET failed:", err)
		os.Exit(1)
	}

	var ops, errs int64
	var stop int32
	var wg sync.WaitGroup
	cpu0 := cpuSeconds()
	start := time.Now()
	for i := 0; i < *threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n, e int64
			for atomic.LoadInt32(&stop) == 0 {
				if get(pool, *key) != nil {
					e++
				}
				n++
			}
			atomic.AddInt64(&ops, n)
			atomic.AddInt64(&errs, e)
		}()
	}
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	fmt.Printf("ops=%d seconds=%.6f cpu_seconds=%.6f errors=%d\n",
		ops, elapsed, cpu, errs)
}
