package bootstrap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nscale/nscale/agent"
	"github.com/nscale/nscale/internal/configfile"
)

const (
	binaryPath = "/usr/local/bin/nscale-agent"
	configDir  = "/etc/nscale"
	configPath = configDir + "/agent.yaml"
	caPath     = configDir + "/control-plane-ca.crt"
	tokenPath  = configDir + "/join-token"
	stateDir   = "/var/lib/nscale"
	runDir     = "/run/nscale"
	socketPath = runDir + "/agent.sock"
)

func yamlList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// agentConfig renders the agent's configuration from the flags. It is
// checked with the agent's own strict decoder and validation before it is
// written, so a bootstrap never installs a config the agent refuses.
func agentConfig(o Options) ([]byte, error) {
	mode := "0660"
	if len(o.AllowedUsers)+len(o.AllowedGroups) > 0 {
		// The uid allow-list (SO_PEERCRED) decides who may call; the
		// socket's mode must not stop the allowed users first.
		mode = "0666"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by nscale-agent bootstrap; a new bootstrap run replaces it.\n")
	fmt.Fprintf(&b, "ops:\n  listen: 127.0.0.1:%d\n", o.OpsPort)
	fmt.Fprintf(&b, "flight:\n  listen: 127.0.0.1:%d\n  socket: %s\n  socket_mode: \"%s\"\n  memory_budget: %d\n", o.Port, socketPath, mode, o.MemoryLimit/2)
	fmt.Fprintf(&b, "  allowed_users: %s\n  allowed_groups: %s\n", yamlList(o.AllowedUsers), yamlList(o.AllowedGroups))
	fmt.Fprintf(&b, "control_plane:\n  address: %s\n  tls:\n    ca_file: %s\n", o.ControlPlane, caPath)
	fmt.Fprintf(&b, "  enrolment:\n    method: %s\n    join_token_file: %s\n    state_dir: %s\n", o.EnrolmentMethod, tokenPath, stateDir)
	if o.NodeName != "" {
		fmt.Fprintf(&b, "    node_name: %s\n", strconv.Quote(o.NodeName))
	}
	fmt.Fprintf(&b, "ebpf:\n  pin_dir: %s\n", o.PinDir)
	fmt.Fprintf(&b, "log:\n  format: json\n")
	data := []byte(b.String())
	cfg := agent.DefaultConfig()
	if err := configfile.Decode(configPath, data, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return data, nil
}
