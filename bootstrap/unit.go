package bootstrap

import (
	"fmt"
	"strings"
)

const (
	unitName = "nscale-agent.service"
	unitPath = "/etc/systemd/system/" + unitName
	// wantsLink is what `systemctl enable` makes; bootstrap makes it
	// itself so that a throwaway root is enabled the same way.
	wantsLink = "/etc/systemd/system/multi-user.target.wants/" + unitName
)

// unit is the agent's systemd service. Type=notify: the agent sends
// READY=1 once its listeners are bound and it is enrolled, so
// `systemctl start` returns when the node can serve. The sandbox leaves
// the agent only its state and runtime directories to write, no
// capabilities, and the address families it uses (AF_NETLINK for
// sock_diag, which tells it a loopback caller's uid).
func unit(o Options) string {
	limit := o.MemoryLimit
	return strings.TrimLeft(fmt.Sprintf(`
# Written by nscale-agent bootstrap; a new bootstrap run replaces it and
# --uninstall removes it.
[Unit]
Description=nscale agent: policy-enforcing Arrow Flight SQL on loopback
Documentation=https://github.com/nscale/nscale/blob/main/docs/install-node.md
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=main
User=%[1]s
Group=%[1]s
ExecStart=%[2]s run --config %[3]s
Restart=on-failure
RestartSec=5s
# Enrolment may wait for the control plane; systemd restarts the agent
# when it gives up.
TimeoutStartSec=5min
Environment=GOMEMLIMIT=%[4]d
MemoryMax=%[5]d
LimitNOFILE=65536
UMask=0077
StateDirectory=nscale
StateDirectoryMode=0700
RuntimeDirectory=nscale
RuntimeDirectoryMode=0755
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`, o.AgentUser, binaryPath, configPath, limit*9/10, limit), "\n")
}
