package agent

import (
	"github.com/nscale/nscale/agent/ebpf"
	"github.com/nscale/nscale/agent/peer"
)

// openGuard opens the eBPF connect guard the bootstrap pinned, makes its
// allow-list the configured one, and exports its counters. Without it (no
// privilege to install one, an old kernel, none installed) the agent says
// so once and runs with the peer check alone. It returns the closer.
func (a *Agent) openGuard(peers *peer.Policy) func() {
	enabled := false
	a.reg.MustRegister(ebpf.NewEnabledGauge(func() bool { return enabled }))
	if a.cfg.EBPF.PinDir == "" {
		a.log.Info("eBPF connect guard off (ebpf.pin_dir is empty); the peer check enforces flight.allowed_*")
		return func() {}
	}
	g, err := ebpf.Open(a.cfg.EBPF.PinDir)
	if err != nil {
		a.log.Info("eBPF connect guard not in use; the peer check still enforces flight.allowed_*", "pin_dir", a.cfg.EBPF.PinDir, "reason", err.Error())
		return func() {}
	}
	if peers == nil {
		// The map cannot say "everyone": leave the bootstrap's list.
		a.log.Warn("eBPF connect guard found but flight.allowed_* is empty: its allow-list is left as the bootstrap wrote it", "pin_dir", a.cfg.EBPF.PinDir)
	} else if err := g.SetAllowed(peers.UIDs()); err != nil {
		a.log.Warn("cannot set the eBPF guard's allow-list; running with the peer check alone", "error", err.Error())
		g.Close()
		return func() {}
	}
	enabled = true
	a.reg.MustRegister(ebpf.NewCollector(g))
	a.log.Info("eBPF connect guard in use", "pin_dir", a.cfg.EBPF.PinDir, "callers", peers.String())
	return func() { g.Close() }
}
