package testutil

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FeedPageSize is how many orders a page of an OrderFeed holds.
const FeedPageSize = 100

// FeedScript says what an OrderFeed serves: Pages pages of valid orders,
// linked by Link headers; request HoldRequest of page HoldPage (none when
// 0; requests are counted from 1) is held at the gate until the test
// releases it; and the requests of page p numbered in Fail[p] answer 503
// (a held one once released).
type FeedScript struct {
	Pages                 int
	Fail                  map[int][]int
	HoldPage, HoldRequest int
}

// OrderFeed is a local JSON API whose faults and gate a test scripts. A
// test looks at a run in a given state by holding the request the run is
// in that state for: waiting on Arrived is certain to see it, where
// polling from outside may miss it on a fast machine or a loaded one.
type OrderFeed struct {
	*httptest.Server
	t      testing.TB
	script FeedScript
	// Arrived is closed when the held request has arrived.
	Arrived chan struct{}
	open    chan struct{}
	opened  sync.Once

	mu       sync.Mutex
	requests map[int]int
}

// NewOrderFeed starts a feed that stops when the test ends, its gate
// released first.
func NewOrderFeed(t testing.TB, script FeedScript) *OrderFeed {
	f := &OrderFeed{t: t, script: script, Arrived: make(chan struct{}), open: make(chan struct{}), requests: map[int]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	// Cleanups run last in, first out: the gate opens before the server
	// closes, which waits for its handlers.
	t.Cleanup(f.Close)
	t.Cleanup(f.Release)
	return f
}

// FirstPage is the feed's URL, the source_url of a run reading it.
func (f *OrderFeed) FirstPage() string { return f.URL + "/orders?page=1" }

// Release lets the held request go on (and any later one pass).
func (f *OrderFeed) Release() { f.opened.Do(func() { close(f.open) }) }

// Requests is how many requests page has had.
func (f *OrderFeed) Requests(page int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[page]
}

func (f *OrderFeed) serve(w http.ResponseWriter, r *http.Request) {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 || page > f.script.Pages {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	f.mu.Lock()
	f.requests[page]++
	n := f.requests[page]
	f.mu.Unlock()
	if page == f.script.HoldPage && n == f.script.HoldRequest {
		close(f.Arrived)
		select {
		case <-f.open:
		case <-r.Context().Done():
			return
		}
	}
	if slices.Contains(f.script.Fail[page], n) {
		http.Error(w, "scripted outage", http.StatusServiceUnavailable)
		return
	}
	recs := make([]string, FeedPageSize)
	for i := range recs {
		recs[i] = Order(f.t, fmt.Sprintf("feed-%d", (page-1)*FeedPageSize+i), "")
	}
	if page < f.script.Pages {
		w.Header().Set("Link", fmt.Sprintf(`<%s/orders?page=%d>; rel="next"`, f.URL, page+1))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("[" + strings.Join(recs, ",") + "]"))
}
