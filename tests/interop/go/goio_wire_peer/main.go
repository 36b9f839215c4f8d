// SPDX-License-Identifier: MIT
// goio_wire_peer: the go-io side of goio's wire-mode interop tests
// (tests/interop/test_wire_go.c) and benchmark (bench/interop). Every
// command uses go-io's own cache layers on namespace "catalog":
//
//	write ENDPOINT              Go writes; C reads (prints "ok")
//	read ENDPOINT               Go reads what C wrote, one line per key:
//	                            "<name> <hit 0|1> <json or hex>" or "<name> err <msg>"
//	publish ENDPOINT CHANNEL DATA
//	invalidate ENDPOINT KEY NAME  sets KEY to Item{2, NAME, 1} through go-io's
//	                            Hybrid and publishes the bare key on
//	                            "goio:cache:invalidate" (goio's coherent channel)
//	subscribe ENDPOINT PATTERN N  prints "ready" once Redis has its subscription,
//	                            then "msg <data>" for N messages (10 s bound)
//	coherent ENDPOINT KEY N     a go-io service keeping the local layer of its
//	                            Hybrid coherent with "goio:cache:invalidate"
//	                            (bare keys): reads KEY ("read <name>"), prints
//	                            "ready", then per message "inv <data>", drops
//	                            that key locally and reads KEY again; N messages
//	bench ENDPOINT CASE N [ROUND]  N x GetOrSet through WithStaleFallback(Hybrid(
//	                            NewMemory(), redis)), prints "ns_per_op <v> cpu_ns_per_op <v>"
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vtex/go-io/cache"
	goioredis "github.com/vtex/go-io/redis"
	"github.com/vtex/go-io/reflext"
)

type Item struct {
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

var item = Item{ID: 1, Name: "lamp <&>", Price: 9.5}

func conf(endpoint string) goioredis.RedisConfig {
	return goioredis.RedisConfig{Endpoint: endpoint, KeyNamespace: "catalog"}
}

func must(err error) {
	if err != nil {
		fmt.Println("err", err)
		os.Exit(1)
	}
}

func write(endpoint string) {
	r := goioredis.New(conf(endpoint))
	must(r.Set("plain", "hello", time.Minute))
	must(r.Set("raw", []byte{0, 1, 0xff}, time.Minute))
	must(r.Set("typed", item, time.Minute))
	must(r.Set("num", 42, time.Minute))
	stale := cache.WithStaleFallback(r, time.Hour)
	must(stale.Set("stale", item, time.Minute))
	// fresh for 1 s, then stale for the rest of the hour
	must(stale.Set("expiring", item, time.Second))
	hybrid := cache.Hybrid(cache.NewMemory(), r)
	must(hybrid.Set("hybrid", item, time.Minute))
	sh := cache.WithStaleFallback(cache.Hybrid(cache.NewMemory(), r), time.Hour)
	must(sh.Set("stale-hybrid", item, time.Minute))
	fmt.Println("ok")
}

func line(name string, hit bool, err error, v interface{}) {
	if err != nil {
		fmt.Println(name, "err", err)
		return
	}
	h := 0
	if hit {
		h = 1
	}
	if b, ok := v.(*[]byte); ok {
		fmt.Println(name, h, hex.EncodeToString(*b))
		return
	}
	j, _ := json.Marshal(v)
	fmt.Println(name, h, string(j))
}

func read(endpoint string) {
	r := goioredis.New(conf(endpoint))
	var s string
	hit, err := r.Get("c:plain", &s)
	line("plain", hit, err, &s)
	var b []byte
	hit, err = r.Get("c:raw", &b)
	line("raw", hit, err, &b)
	var it Item
	hit, err = r.Get("c:typed", &it)
	line("typed", hit, err, &it)
	stale := cache.WithStaleFallback(r, time.Hour)
	var st Item
	hit, err = stale.Get("c:stale", &st)
	line("stale", hit, err, &st)
	var bs []byte
	hit, err = stale.Get("c:stale-bytes", &bs)
	line("stale-bytes", hit, err, &bs)
	var hy Item
	hit, err = cache.Hybrid(cache.NewMemory(), r).Get("c:hybrid", &hy)
	line("hybrid", hit, err, &hy)
	var sh Item
	shc := cache.WithStaleFallback(cache.Hybrid(cache.NewMemory(), r), time.Hour)
	hit, err = shc.Get("c:stale-hybrid", &sh)
	line("stale-hybrid", hit, err, &sh)
	// C's expired entry: Get misses, a failing fetch is served stale
	var ex Item
	hit, err = stale.Get("c:expired", &ex)
	line("expired-get", hit, err, &ex)
	var ex2 Item
	err = stale.GetOrSet("c:expired", &ex2, time.Minute, func() (interface{}, error) {
		return nil, errors.New("origin down")
	})
	line("expired-stale", err == nil, err, &ex2)
}

func publish(endpoint, channel, data string) {
	ps, err := goioredis.NewPubSub(conf(endpoint))
	must(err)
	must(ps.Publish(channel, []byte(data)))
	fmt.Println("ok")
}

func invalidate(endpoint, key, name string) {
	r := goioredis.New(conf(endpoint))
	must(cache.Hybrid(cache.NewMemory(), r).Set(key, Item{ID: 2, Name: name, Price: 1}, time.Minute))
	ps, err := goioredis.NewPubSub(conf(endpoint))
	must(err)
	must(ps.Publish("goio:cache:invalidate", []byte(key)))
	fmt.Println("ok")
}

// subscribeReady subscribes to pattern and to a probe channel of its own in
// one PSUBSCRIBE, then publishes probes until one comes back: Redis then has
// both patterns (go-io's PSubscribe returns before Redis answers). Returns
// the channel and a function telling probes from other messages.
func subscribeReady(ps goioredis.PubSub, pattern string,
	deadline <-chan time.Time) (goioredis.SubChan, func([]byte) bool) {
	probe := fmt.Sprintf("goio-peer-ready.%d", os.Getpid())
	ch, err := ps.PSubscribe([]string{pattern, probe})
	must(err)
	isProbe := func(m []byte) bool { return string(m) == probe }
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	must(ps.Publish(probe, []byte(probe)))
	for {
		select {
		case m := <-ch:
			if isProbe(m) {
				return ch, isProbe
			}
			fmt.Println("early", string(m)) // the tests fail on it
		case <-tick.C:
			must(ps.Publish(probe, []byte(probe)))
		case <-deadline:
			fmt.Println("timeout")
			os.Exit(1)
		}
	}
}

func subscribe(endpoint, pattern string, n int) {
	ps, err := goioredis.NewPubSub(conf(endpoint))
	must(err)
	deadline := time.After(10 * time.Second)
	ch, isProbe := subscribeReady(ps, pattern, deadline)
	fmt.Println("ready")
	for i := 0; i < n; {
		select {
		case m := <-ch:
			if isProbe(m) {
				continue
			}
			fmt.Println("msg", string(m))
			i++
		case <-deadline:
			fmt.Println("timeout")
			os.Exit(1)
		}
	}
}

// mapCache: a local layer a go-io service can drop keys from (go-io's
// NewMemory has no delete); values as Hybrid stores them.
type mapCache struct {
	mu sync.Mutex
	m  map[string]interface{}
}

func (c *mapCache) Get(key string, result interface{}) (bool, error) {
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, reflext.SetPointer(result, v)
}

func (c *mapCache) Set(key string, value interface{}, _ time.Duration) error {
	c.mu.Lock()
	c.m[key] = value
	c.mu.Unlock()
	return nil
}

func (c *mapCache) GetOrSet(key string, result interface{}, d time.Duration,
	fetch func() (interface{}, error)) error {
	return errors.New("not used")
}

func (c *mapCache) del(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

func coherent(endpoint, key string, n int) {
	local := &mapCache{m: map[string]interface{}{}}
	h := cache.Hybrid(local, goioredis.New(conf(endpoint)))
	readKey := func() {
		var it Item
		hit, err := h.Get(key, &it)
		must(err)
		if !hit {
			fmt.Println("read miss")
			return
		}
		fmt.Println("read", it.Name)
	}
	ps, err := goioredis.NewPubSub(conf(endpoint))
	must(err)
	deadline := time.After(10 * time.Second)
	ch, isProbe := subscribeReady(ps, "goio:cache:invalidate", deadline)
	readKey()
	fmt.Println("ready")
	for i := 0; i < n; {
		select {
		case m := <-ch:
			if isProbe(m) {
				continue
			}
			fmt.Println("inv", string(m))
			local.del(string(m))
			readKey()
			i++
		case <-deadline:
			fmt.Println("timeout")
			os.Exit(1)
		}
	}
}

func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// bench: the same three cases as bench/interop's goio side.
func bench(endpoint, kind string, n int, round string) {
	r := goioredis.New(conf(endpoint))
	c := cache.WithStaleFallback(cache.Hybrid(cache.NewMemory(), r), time.Hour)
	fetch := func() (interface{}, error) { return item, nil }
	key := func(i int) string {
		switch kind {
		case "local_hit":
			return "bench:" + round + ":local"
		case "remote_hit":
			return "bench:" + round + ":remote:" + strconv.Itoa(i%1000)
		default:
			return "bench:" + round + ":miss:" + strconv.Itoa(i)
		}
	}
	var it Item
	if kind == "local_hit" {
		must(c.GetOrSet(key(0), &it, time.Hour, fetch))
	}
	if kind == "remote_hit" { // written by another process: not local here
		w := cache.WithStaleFallback(cache.Hybrid(cache.NewMemory(), r), time.Hour)
		for i := 0; i < 1000; i++ {
			must(w.Set(key(i), item, time.Hour))
		}
	}
	start, cpu := time.Now(), cpuNs()
	for i := 0; i < n; i++ {
		if kind == "remote_hit" && i%1000 == 0 && i > 0 {
			// a fresh local layer: every read goes to Redis again
			c = cache.WithStaleFallback(cache.Hybrid(cache.NewMemory(), r), time.Hour)
		}
		var v Item
		must(c.GetOrSet(key(i), &v, time.Hour, fetch))
	}
	el, used := time.Since(start).Nanoseconds(), cpuNs()-cpu
	fmt.Printf("ns_per_op %d cpu_ns_per_op %d\n", el/int64(n), used/int64(n))
}

func main() {
	a := os.Args
	if len(a) < 3 {
		fmt.Fprintln(os.Stderr, "usage: goio_wire_peer CMD ENDPOINT ...")
		os.Exit(2)
	}
	switch a[1] {
	case "write":
		write(a[2])
	case "read":
		read(a[2])
	case "publish":
		publish(a[2], a[3], a[4])
	case "invalidate":
		invalidate(a[2], a[3], a[4])
	case "subscribe":
		n, _ := strconv.Atoi(a[4])
		subscribe(a[2], a[3], n)
	case "coherent":
		n, _ := strconv.Atoi(a[4])
		coherent(a[2], a[3], n)
	case "bench":
		n, _ := strconv.Atoi(a[4])
		round := "0"
		if len(a) > 5 {
			round = a[5]
		}
		bench(a[2], a[3], n, round)
	default:
		os.Exit(2)
	}
}
