// Package health reports whether a daemon's parts are ready. Each part
// registers a check; a report lists every part with its state, message and
// how long its check took, in the shape /readyz and the status API share.
package health

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Code is a component or overall state.
type Code string

const (
	Ready    Code = "READY"
	Degraded Code = "DEGRADED"
	NotReady Code = "NOT_READY"
)

// rank orders codes from best to worst so the overall state is the worst one.
func (c Code) rank() int {
	switch c {
	case Ready:
		return 0
	case Degraded:
		return 1
	default:
		return 2
	}
}

// Result is what a check returns.
type Result struct {
	Code    Code
	Message string
}

// CheckFunc inspects one component. It must respect ctx's deadline.
type CheckFunc func(ctx context.Context) Result

// Component is one part's state in a report.
type Component struct {
	Name      string    `json:"name"`
	Code      Code      `json:"code"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
	ElapsedMS float64   `json:"elapsed_ms"`
}

// Report is the state of every component; Code is the worst of them.
type Report struct {
	Code       Code        `json:"code"`
	Message    string      `json:"message"`
	Timestamp  time.Time   `json:"timestamp"`
	ElapsedMS  float64     `json:"elapsed_ms"`
	Components []Component `json:"components"`
}

// Checker holds the registered checks. The zero value is not usable; use New.
type Checker struct {
	timeout time.Duration
	now     func() time.Time

	mu     sync.RWMutex
	checks map[string]CheckFunc
}

// New returns a Checker whose checks each get timeout to answer.
func New(timeout time.Duration) *Checker {
	return &Checker{timeout: timeout, now: time.Now, checks: map[string]CheckFunc{}}
}

// Register adds or replaces a component's check.
func (c *Checker) Register(name string, check CheckFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// Check runs every check concurrently and returns the report.
func (c *Checker) Check(ctx context.Context) Report {
	c.mu.RLock()
	names := make([]string, 0, len(c.checks))
	for n := range c.checks {
		names = append(names, n)
	}
	checks := make([]CheckFunc, len(names))
	sort.Strings(names)
	for i, n := range names {
		checks[i] = c.checks[n]
	}
	c.mu.RUnlock()

	start := c.now()
	comps := make([]Component, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			comps[i] = c.run(ctx, names[i], checks[i])
		}(i)
	}
	wg.Wait()

	rep := Report{Code: Ready, Timestamp: start, Components: comps}
	var notReady []string
	for _, comp := range comps {
		if comp.Code.rank() > rep.Code.rank() {
			rep.Code = comp.Code
		}
		if comp.Code != Ready {
			notReady = append(notReady, comp.Name)
		}
	}
	switch {
	case len(notReady) == 0:
		rep.Message = "all components ready"
	default:
		rep.Message = "not ready: " + joinComma(notReady)
	}
	rep.ElapsedMS = ms(c.now().Sub(start))
	return rep
}

func (c *Checker) run(ctx context.Context, name string, check CheckFunc) Component {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := c.now()
	done := make(chan Result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- Result{Code: NotReady, Message: "health check panicked"}
			}
		}()
		done <- check(ctx)
	}()
	var r Result
	select {
	case r = <-done:
	case <-ctx.Done():
		r = Result{Code: NotReady, Message: "health check timed out after " + c.timeout.String()}
	}
	if r.Code == "" {
		r.Code = NotReady
	}
	return Component{Name: name, Code: r.Code, Message: r.Message, Timestamp: start, ElapsedMS: ms(c.now().Sub(start))}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
