// Command connrate measures the connection rate of an HTTP server: N
// sequential GETs, each on a new TCP connection, as a client reaching a
// published port does. bench/network/run.sh points it at a busybox httpd
// behind pier's and Docker's published ports.
//
// usage: connrate [-n N] [-wait D] URL
//
// It prints one line: requests, requests per second, median and 90th
// percentile latency in ms.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	n := flag.Int("n", 500, "requests")
	wait := flag.Duration("wait", 10*time.Second, "how long to wait for the server's first answer")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: connrate [-n N] [-wait D] URL")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *wait); err != nil {
		fmt.Fprintf(os.Stderr, "connrate: %v\n", err)
		os.Exit(1)
	}
}

func run(url string, n int, wait time.Duration) error {
	// No keep-alive: every request pays for a connection, which is what a
	// published port's NAT (or proxy) adds to.
	c := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		Timeout:   5 * time.Second,
	}
	if err := waitFor(c, url, wait); err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	begin := time.Now()
	for i := range n {
		t0 := time.Now()
		if err := get(c, url); err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(begin)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("%d %.1f %.3f %.3f\n", n, float64(n)/total.Seconds(), ms(lat[n/2]), ms(lat[n*9/10]))
	return nil
}

// waitFor retries until the server answers: a container's httpd may not be
// listening yet when run -d returns.
func waitFor(c *http.Client, url string, wait time.Duration) error {
	end := time.Now().Add(wait)
	for {
		err := get(c, url)
		if err == nil {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("wait for %s: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
