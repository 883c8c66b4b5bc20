package agent

import (
	"context"
	"slices"
	"time"

	"github.com/nscale/nscale/agent/ebpf"
	"github.com/nscale/nscale/agent/peer"
)

// allowListSync is how often the agent looks up names the node did not
// have yet and group memberships again, and brings the eBPF guard's
// allow-list up to date.
var allowListSync = 10 * time.Second

// openGuard opens the eBPF connect guard the bootstrap pinned, makes its
// allow-list the configured one, and exports its counters. Without it (no
// privilege to install one, an old kernel, none installed) the agent says
// so once and runs with the peer check alone. It returns the guard (nil
// when not in use) and its closer.
func (a *Agent) openGuard(peers *peer.Policy) (*ebpf.Guard, func()) {
	enabled := false
	a.reg.MustRegister(ebpf.NewEnabledGauge(func() bool { return enabled }))
	if a.cfg.EBPF.PinDir == "" {
		a.log.Info("eBPF connect guard off (ebpf.pin_dir is empty); the peer check enforces flight.allowed_*")
		return nil, func() {}
	}
	g, err := ebpf.Open(a.cfg.EBPF.PinDir)
	if err != nil {
		a.log.Info("eBPF connect guard not in use; the peer check still enforces flight.allowed_*", "pin_dir", a.cfg.EBPF.PinDir, "reason", err.Error())
		return nil, func() {}
	}
	if peers == nil {
		// The map cannot say "everyone": leave the bootstrap's list.
		a.log.Warn("eBPF connect guard found but flight.allowed_* is empty: its allow-list is left as the bootstrap wrote it", "pin_dir", a.cfg.EBPF.PinDir)
	} else if err := g.SetAllowed(peers.UIDs()); err != nil {
		a.log.Warn("cannot set the eBPF guard's allow-list; running with the peer check alone", "error", err.Error())
		g.Close()
		return nil, func() {}
	}
	enabled = true
	a.reg.MustRegister(ebpf.NewCollector(g))
	a.log.Info("eBPF connect guard in use", "pin_dir", a.cfg.EBPF.PinDir, "callers", peers.String())
	return g, func() { g.Close() }
}

// syncAllowList keeps the allow-list current: a user or group named in
// flight.allowed_* that the node creates after the agent started (EMR
// creates spark and yarn after its bootstrap actions) is allowed once it
// exists, and the guard's map follows new names and group members.
func (a *Agent) syncAllowList(ctx context.Context, peers *peer.Policy, g *ebpf.Guard) error {
	if peers == nil {
		<-ctx.Done()
		return nil
	}
	if p := peers.Pending(); len(p) > 0 {
		a.log.Warn("allowed callers not on this node yet; they are allowed once they exist", "pending", p)
	}
	var last []uint32
	if g != nil {
		last = peers.UIDs()
	}
	t := time.NewTicker(allowListSync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if peers.Refresh() {
			a.log.Info("allowed callers resolved", "callers", peers.String())
		}
		if g == nil {
			continue
		}
		if uids := peers.UIDs(); !slices.Equal(uids, last) {
			if err := g.SetAllowed(uids); err != nil {
				a.log.Warn("cannot update the eBPF guard's allow-list", "error", err.Error())
				continue
			}
			last = uids
			a.log.Info("eBPF guard's allow-list updated", "uids", len(uids))
		}
	}
}
