//go:build !linux || !(386 || amd64)

package ebpf

// Guard is the unprivileged handle on an installed guard's maps.
type Guard struct{}

func errUnsupported() error {
	return unavailable(ErrUnsupported, "the BPF objects are built for linux on 386/amd64 only")
}

// Available says why the guard cannot be used: on this platform, never.
func Available() error { return errUnsupported() }

// Install is unsupported on this platform (after validating opts).
func Install(opts InstallOptions) error {
	if _, err := opts.validate(); err != nil {
		return err
	}
	return errUnsupported()
}

// Uninstall is unsupported on this platform.
func Uninstall(string) error { return errUnsupported() }

// Open is unsupported on this platform.
func Open(string) (*Guard, error) { return nil, errUnsupported() }

// SetAllowed is unsupported on this platform.
func (*Guard) SetAllowed([]uint32) error { return errUnsupported() }

// Counters is unsupported on this platform.
func (*Guard) Counters() (map[uint32]Count, error) { return nil, errUnsupported() }

// Close does nothing.
func (*Guard) Close() error { return nil }
