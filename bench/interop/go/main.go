// SPDX-License-Identifier: MIT
// The anchor of bench/interop: Go's encoding/json on the values
// bench_interop.c measures goio's JSON with. Usage: anchor CASE N;
// prints "<ns per op>".
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"
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

type envelope struct {
	FreshUntil time.Time
	Value      json.RawMessage
}

var state uint64 = 0x9E3779B97F4A7C15

func rnd() uint64 { // splitmix64, as bench_interop.c
	state += 0x9E3779B97F4A7C15
	z := state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func sample() Item {
	ratio := 0.25
	return Item{ID: 123456, Name: "Lamp <b>&</b> deluxe \u00e9", Price: 19.99,
		Note: "in stock", Count: 42, OK: true, Data: []byte("0123456789abcdef"),
		Ratio: &ratio, Child: &Inner{X: 7, Tags: []byte{1, 2, 3}},
		In: Inner{X: -1}, When: time.Unix(1796655731, 714133700).UTC()}
}

func main() {
	name := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	item := sample()
	itemJSON, _ := json.Marshal(item)
	env, _ := json.Marshal(envelope{time.Unix(1796655791, 714133749).UTC(), itemJSON})
	floats := make([]float64, 0, 1000)
	for len(floats) < 1000 {
		f := math.Float64frombits(rnd())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			floats = append(floats, f)
		}
	}
	prices := make([]float64, 1000)
	for k := range prices {
		prices[k] = float64((k*7919)%1000000) / 100
	}
	sink := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		switch name {
		case "json_encode_item":
			b, _ := json.Marshal(item)
			sink += len(b)
		case "json_decode_item":
			var it Item
			if err := json.Unmarshal(itemJSON, &it); err != nil {
				panic(err)
			}
			sink += int(it.ID)
		case "json_encode_floats":
			b, _ := json.Marshal(floats)
			sink += len(b)
		case "json_encode_prices":
			b, _ := json.Marshal(prices)
			sink += len(b)
		case "json_decode_envelope":
			var e envelope
			if err := json.Unmarshal(env, &e); err != nil {
				panic(err)
			}
			var it Item
			if err := json.Unmarshal(e.Value, &it); err != nil {
				panic(err)
			}
			sink += int(it.ID)
		default:
			panic("unknown case " + name)
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(n)
	if sink == -1 {
		fmt.Println(sink)
	}
	fmt.Printf("%.1f\n", ns)
}
