package main

import (
	"fmt"
	"os"
	"sync"
)

// failer is the test.Failer the fake discovery server wants, for a process instead of a Go test: a fatal
// report is one line on stderr and exit code 2; cleanups run in reverse order when the run ends.
type failer struct {
	mu       sync.Mutex
	cleanups []func()
	tmp      string
}

func newFailer() *failer { return &failer{} }

func (f *failer) Fail()                           { f.FailNow() }
func (f *failer) FailNow()                        { fail("istiod's discovery server failed") }
func (f *failer) Helper()                         {}
func (f *failer) Log(args ...any)                 {}
func (f *failer) Logf(format string, args ...any) {}
func (f *failer) Fatal(args ...any)               { fail("%s", fmt.Sprint(args...)) }
func (f *failer) Fatalf(format string, args ...any) {
	fail(format, args...)
}
func (f *failer) Skip(args ...any) { fail("skipped: %s", fmt.Sprint(args...)) }

func (f *failer) TempDir() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tmp == "" {
		dir, err := os.MkdirTemp("", "istio-oracle-")
		if err != nil {
			fail("temp dir: %v", err)
		}
		f.tmp = dir
		f.cleanups = append(f.cleanups, func() { _ = os.RemoveAll(dir) })
	}
	return f.tmp
}

func (f *failer) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *failer) cleanup() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
