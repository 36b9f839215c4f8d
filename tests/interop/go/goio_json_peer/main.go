// SPDX-License-Identifier: MIT
// goio_json_peer: the Go side of goio's JSON interop test.
//
// It reads one request per line on stdin and answers one line on stdout, so
// the C test is the single source of the values compared. Requests:
//
//	s HEX            marshal string(bytes)
//	f HEX16          marshal math.Float64frombits
//	i DEC / u DEC    marshal int64 / uint64
//	B 0|1            marshal bool
//	b HEX|-          marshal []byte (- = nil)
//	t SEC NSEC OFF   marshal time.Unix(SEC, NSEC) in a zone OFF seconds east
//	                 (OFF 0 = UTC)
//	D KIND HEX       unmarshal the JSON HEX into a KIND (s f i u B b t item)
//	                 and answer "ok <marshal of the result>" or "err type",
//	                 "err syntax", "err other"
//	E HEX MS         go-io's stale wrapper stores the item JSON HEX fresh
//	                 for MS ms (over a cache that marshals like go-io's Redis
//	                 cache); answers the stored bytes
//	G HEX            the stored bytes HEX read back through go-io's stale
//	                 wrapper: "ok <fresh 0|1> <marshal of the item>" or "err ..."
//
// With arguments it is a go-io Redis client instead (namespace "catalog"):
//
//	redis-write ENDPOINT ITEMHEX   r.Set("plain", "hello", 1m);
//	                               r.Set("raw", []byte{0,1,255}, 1m);
//	                               WithStaleFallback(r, 1h).Set("item:1",
//	                               item, 1m); prints "ok"
//	redis-read ENDPOINT            reads what goio wrote: "plain <json>",
//	                               "raw <hex>", "item <fresh 0|1> <json>",
//	                               one line each ("... err <msg>" on error)
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vtex/go-io/cache"
	goioredis "github.com/vtex/go-io/redis"
)

type Inner struct {
	X    int64  `json:"x"`
	Tags []byte `json:"tags,omitempty"`
}

type Item struct {
	ID    int64     `json:"id"`
	Name  string    `json:"name"`
	Price float64   `json:"price"`
	Note  string    `json:"note,omitempty"`
	Count uint64    `json:"count,omitempty"`
	OK    bool      `json:"ok,omitempty"`
	Data  []byte    `json:"data"`
	Ratio *float64  `json:"ratio,omitempty"`
	Child *Inner    `json:"child"`
	In    Inner     `json:"in"`
	When  time.Time `json:"when"`
}

// jsonCache stores values as go-io's Redis cache does: JSON bytes, []byte raw.
type jsonCache struct{ m map[string][]byte }

func (c *jsonCache) Get(key string, result interface{}) (bool, error) {
	b, ok := c.m[key]
	if !ok {
		return false, nil
	}
	if p, isBytes := result.(*[]byte); isBytes {
		*p = b
		return true, nil
	}
	return true, json.Unmarshal(b, result)
}

func (c *jsonCache) Set(key string, value interface{}, d time.Duration) error {
	b, isBytes := value.([]byte)
	if !isBytes {
		var err error
		if b, err = json.Marshal(value); err != nil {
			return err
		}
	}
	c.m[key] = b
	return nil
}

func (c *jsonCache) GetOrSet(key string, result interface{}, d time.Duration, fetch func() (interface{}, error)) error {
	return errors.New("not used")
}

func classify(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "err syntax"
	case errors.As(err, &typ):
		return "err type"
	default:
		return "err other"
	}
}

func marshal(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "err marshal"
	}
	return string(b)
}

func decode(kind string, data []byte) string {
	var v interface{}
	switch kind {
	case "s":
		v = new(string)
	case "f":
		v = new(float64)
	case "i":
		v = new(int64)
	case "u":
		v = new(uint64)
	case "B":
		v = new(bool)
	case "b":
		v = new([]byte)
	case "t":
		v = new(time.Time)
	case "item":
		v = new(Item)
	default:
		return "err request"
	}
	if err := json.Unmarshal(data, v); err != nil {
		return classify(err)
	}
	if t, ok := v.(*time.Time); ok {
		return "ok " + marshal(t.UTC())
	}
	return "ok " + marshal(v)
}

func answer(f []string) string {
	hexArg := func(i int) []byte {
		if i >= len(f) || f[i] == "." {
			return nil
		}
		b, err := hex.DecodeString(f[i])
		if err != nil {
			panic(err)
		}
		return b
	}
	num := func(i int) int64 {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			panic(err)
		}
		return n
	}
	switch f[0] {
	case "s":
		return marshal(string(hexArg(1)))
	case "f":
		bits, _ := strconv.ParseUint(f[1], 16, 64)
		return marshal(math.Float64frombits(bits))
	case "i":
		return marshal(num(1))
	case "u":
		u, _ := strconv.ParseUint(f[1], 10, 64)
		return marshal(u)
	case "B":
		return marshal(f[1] == "1")
	case "b":
		if f[1] == "-" {
			return marshal([]byte(nil))
		}
		b := hexArg(1)
		if b == nil {
			b = []byte{}
		}
		return marshal(b)
	case "t":
		t := time.Unix(num(1), num(2)).UTC()
		if len(f) > 3 && num(3) != 0 {
			t = t.In(time.FixedZone("", int(num(3))))
			return marshal(t)
		}
		return marshal(t)
	case "D":
		return decode(f[1], hexArg(2))
	case "E":
		var item Item
		if err := json.Unmarshal(hexArg(1), &item); err != nil {
			return classify(err)
		}
		c := &jsonCache{m: map[string][]byte{}}
		st := cache.WithStaleFallback(c, time.Hour)
		if err := st.Set("k", item, time.Duration(num(2))*time.Millisecond); err != nil {
			return "err other"
		}
		return string(c.m["k"])
	case "G":
		c := &jsonCache{m: map[string][]byte{"k": hexArg(1)}}
		st := cache.WithStaleFallback(c, time.Hour)
		var fresh, stale Item
		isFresh, err := st.Get("k", &fresh)
		if err != nil {
			return classify(err)
		}
		if _, err := st.GetStale("k", &stale); err != nil {
			return classify(err)
		}
		flag := "0"
		if isFresh {
			flag = "1"
		}
		return "ok " + flag + " " + marshal(stale)
	}
	return "err request"
}

func redisMain(args []string) int {
	r := goioredis.New(goioredis.RedisConfig{Endpoint: args[1], KeyNamespace: "catalog"})
	stale := cache.WithStaleFallback(r, time.Hour)
	switch args[0] {
	case "redis-write":
		raw, err := hex.DecodeString(args[2])
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		var item Item
		if err := json.Unmarshal(raw, &item); err != nil {
			fmt.Println("err", err)
			return 1
		}
		if err := r.Set("plain", "hello", time.Minute); err != nil {
			fmt.Println("err", err)
			return 1
		}
		if err := r.Set("raw", []byte{0, 1, 255}, time.Minute); err != nil {
			fmt.Println("err", err)
			return 1
		}
		if err := stale.Set("item:1", item, time.Minute); err != nil {
			fmt.Println("err", err)
			return 1
		}
		fmt.Println("ok")
	case "redis-read":
		var s string
		if hit, err := r.Get("c:plain", &s); err != nil || !hit {
			fmt.Println("plain err", hit, err)
		} else {
			fmt.Println("plain", marshal(s))
		}
		var b []byte
		if hit, err := r.Get("c:raw", &b); err != nil || !hit {
			fmt.Println("raw err", hit, err)
		} else {
			fmt.Println("raw", hex.EncodeToString(b))
		}
		var item Item
		fresh, err := stale.Get("c:item", &item)
		if err != nil {
			fmt.Println("item err", err)
		} else if !fresh {
			var old Item
			if hit, err := stale.GetStale("c:item", &old); err != nil || !hit {
				fmt.Println("item err", hit, err)
			} else {
				fmt.Println("item 0", marshal(old))
			}
		} else {
			fmt.Println("item 1", marshal(item))
		}
	default:
		fmt.Println("err usage")
		return 2
	}
	return 0
}

func main() {
	if len(os.Args) > 2 {
		os.Exit(redisMain(os.Args[1:]))
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		fmt.Fprintln(out, answer(strings.Fields(line)))
	}
}
