package agent

import (
	"context"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/nscale/nscale/agent/enrol"
)

// notifySystemd tells systemd (Type=notify, NOTIFY_SOCKET) the agent is
// ready once its listeners are bound and it is enrolled, so `systemctl
// start` and the node's bootstrap return only when the node can serve;
// STOPPING=1 at shutdown. Without NOTIFY_SOCKET it does nothing.
func (a *Agent) notifySystemd(ctx context.Context, ident *enrol.Identity) error {
	select {
	case <-ctx.Done():
		return nil
	case <-ident.Enrolled():
	}
	_, msg := ident.Ready()
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS="+msg); err != nil {
		a.log.Warn("could not tell systemd the agent is ready", "error", err)
	} else if ok {
		a.log.Info("told systemd the agent is ready")
	}
	<-ctx.Done()
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	return nil
}
