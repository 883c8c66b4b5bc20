// Command demodata writes the deterministic sample data set of the demo and
// the end-to-end tests: customers and date-partitioned transactions as
// snappy Parquet.
//
//	go run ./scripts/demodata --out DIR [--customers 100000] [--seed 1] [--force]
//
// DIR/customers/part-NNNNN.parquet holds the customers in four files;
// DIR/transactions/dt=YYYY-MM-DD/part-NNNNN.parquet holds about five
// transactions per customer over 30 days from 2024-05-01, Hive-style (dt is
// in the path, not in the files). The same seed and size give the same bytes
// on every run and machine: every value comes from PCG streams keyed by the
// seed and a customer id or day, with integer arithmetic only, and every
// Parquet writer property that shapes the bytes is fixed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errFlags): // the flag package has said what is wrong
		os.Exit(2)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "demodata:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "demodata:", err)
		os.Exit(1)
	}
}

var (
	errUsage = errors.New("usage")
	errFlags = errors.New("bad flags")
)

// config is what the flags ask for.
type config struct {
	out       string
	customers int64
	seed      uint64
	force     bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("demodata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.out, "out", "", "directory to write customers/ and transactions/ into (required)")
	fs.Int64Var(&c.customers, "customers", 100_000, "number of customers; transactions are five times as many")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random streams; the same seed gives the same bytes")
	fs.BoolVar(&c.force, "force", false, "replace customers/ and transactions/ in a non-empty --out")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errFlags, err)
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case c.out == "":
		return c, fmt.Errorf("%w: --out is required", errUsage)
	case c.customers < 1 || c.customers > 100_000_000:
		return c, fmt.Errorf("%w: --customers must be between 1 and 100000000", errUsage)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := prepareDir(c.out, c.force); err != nil {
		return err
	}
	start := time.Now()
	w, err := generate(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demodata: %d files, %d rows (%d customers, %d transactions), %d bytes in %s (seed %d, %s)\n",
		len(w.files), w.rows, c.customers, w.rows-c.customers, w.bytes, c.out, c.seed, time.Since(start).Round(10*time.Millisecond))
	return nil
}

// prepareDir refuses a non-empty dir unless force, and then removes only
// the two trees this program writes, so stale parts of a larger earlier run
// cannot linger next to the new ones.
func prepareDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		if !force {
			return fmt.Errorf("%s is not empty; use --force to replace its customers/ and transactions/", dir)
		}
		for _, sub := range []string{"customers", "transactions"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				return err
			}
		}
	}
	return os.MkdirAll(dir, 0o755)
}

// generate writes every file, one job per customer file or day, on as many
// workers as there are CPUs; each job's bytes depend only on its inputs.
func generate(c config) (written, error) {
	files := min(customerFiles, int(c.customers))
	var jobs []func(memory.Allocator) (written, error)
	for k := range files {
		jobs = append(jobs, func(mem memory.Allocator) (written, error) {
			return writeCustomers(c.out, c.seed, c.customers, k, files, mem)
		})
	}
	for d := range days {
		jobs = append(jobs, func(mem memory.Allocator) (written, error) {
			return writeDay(c.out, c.seed, c.customers, d, mem)
		})
	}

	results := make([]written, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mem := memory.NewGoAllocator()
			for i := range next {
				results[i], errs[i] = jobs[i](mem)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()

	var total written
	for i, r := range results {
		if errs[i] != nil {
			return written{}, errs[i]
		}
		total.add(r)
	}
	return total, nil
}
