//go:build linux && (386 || amd64)

package ebpf

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"

	"github.com/nscale/nscale/internal/apierr"
)

// Guard is the unprivileged agent's handle on an installed guard: it edits
// the allow-list and reads the counters through the pinned maps. It is safe
// for concurrent use; Close releases it (the guard stays installed).
type Guard struct {
	allowed  *ebpf.Map
	counters *ebpf.Map
}

// Open opens the pinned `allowed` map (read-write: its pin must be owned by
// the caller, as Install arranges) and `counters` map (read-only) under
// pinDir (DefaultPinDir if empty).
func Open(pinDir string) (*Guard, error) {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	allowed, err := openPinned(filepath.Join(pinDir, pinAllowed), false, 4, 1)
	if err != nil {
		return nil, err
	}
	counters, err := openPinned(filepath.Join(pinDir, pinCounters), true, 4, 16)
	if err != nil {
		allowed.Close()
		return nil, err
	}
	return &Guard{allowed: allowed, counters: counters}, nil
}

func openPinned(path string, readOnly bool, keySize, valueSize uint32) (*ebpf.Map, error) {
	m, err := ebpf.LoadPinnedMap(path, &ebpf.LoadPinOptions{ReadOnly: readOnly})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, apierr.Wrap(apierr.FailedPrecondition, err,
			"ebpf guard not installed: no pin %s (run nscale-agent bootstrap --ebpf)", path)
	case errors.Is(err, os.ErrPermission):
		return nil, apierr.Wrap(apierr.PermissionDenied, err,
			"ebpf guard: pin %s is not accessible to uid %d (bootstrap with the agent's user as owner)", path, os.Geteuid())
	case err != nil:
		return nil, apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: opening pin %s", path)
	}
	if m.KeySize() != keySize || m.ValueSize() != valueSize {
		m.Close()
		return nil, apierr.New(apierr.FailedPrecondition,
			"ebpf guard: pin %s has key/value size %d/%d, want %d/%d (re-run the bootstrap)",
			path, m.KeySize(), m.ValueSize(), keySize, valueSize)
	}
	return m, nil
}

// SetAllowed makes the allow-list exactly uids: it adds the missing ones
// before removing the others, so a uid on both the old and new list is
// never refused in between.
func (g *Guard) SetAllowed(uids []uint32) error {
	return setAllowed(g.allowed, uids)
}

func setAllowed(m *ebpf.Map, uids []uint32) error {
	want := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	for u := range want {
		if err := m.Put(u, uint8(1)); err != nil {
			return apierr.Wrap(apierr.Internal, err, "ebpf guard: allowing uid %d", u)
		}
	}
	var stale []uint32
	var (
		key uint32
		val uint8
	)
	it := m.Iterate()
	for it.Next(&key, &val) {
		if !want[key] {
			stale = append(stale, key)
		}
	}
	if err := it.Err(); err != nil {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: reading the allow-list")
	}
	for _, u := range stale {
		if err := m.Delete(u); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return apierr.Wrap(apierr.Internal, err, "ebpf guard: removing uid %d", u)
		}
	}
	return nil
}

// Counters returns the guard's per-uid counts of guarded connects.
func (g *Guard) Counters() (map[uint32]Count, error) {
	out := map[uint32]Count{}
	var (
		key uint32
		val guardCounts
	)
	it := g.counters.Iterate()
	for it.Next(&key, &val) {
		out[key] = Count{Allowed: val.Allowed, Denied: val.Denied}
	}
	if err := it.Err(); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "ebpf guard: reading the counters")
	}
	return out, nil
}

// Close releases the maps; the guard stays installed.
func (g *Guard) Close() error {
	if g == nil {
		return nil
	}
	return errors.Join(g.allowed.Close(), g.counters.Close())
}
