package k8s

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config is the Kubernetes attestor's part of the control plane's config
// file (decoded strictly by the caller).
type Config struct {
	// Audience is the audience of the agents' projected service-account
	// tokens (the pod's serviceAccountToken volume source), e.g.
	// "nscale-agent". A token for any other audience (the API server's own
	// default, another service's) is refused, so a token stolen from a
	// pod for another purpose cannot enrol.
	Audience string `yaml:"audience"`
	// AllowedServiceAccounts lists the service accounts, as
	// "namespace/name", whose pods may enrol as agents.
	AllowedServiceAccounts []string `yaml:"allowed_service_accounts"`
	// Kubeconfig is a kubeconfig file for the API server to check tokens
	// with. Empty: the in-cluster config (the control plane's own service
	// account, KUBERNETES_SERVICE_HOST/PORT).
	Kubeconfig string `yaml:"kubeconfig"`
}

// Validate checks the config; each message names the key at fault. The
// caller prefixes the section's own path.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Audience == "":
		errs = append(errs, errors.New("audience is required: the audience of the agents' projected service-account token, e.g. nscale-agent"))
	case strings.TrimSpace(c.Audience) != c.Audience || strings.ContainsAny(c.Audience, " \t\r\n,"):
		errs = append(errs, fmt.Errorf("audience %q must be one word without spaces or commas", c.Audience))
	}
	if len(c.AllowedServiceAccounts) == 0 {
		errs = append(errs, errors.New(`allowed_service_accounts is required: list the agents' service accounts as "namespace/name"`))
	}
	seen := map[string]bool{}
	for i, sa := range c.AllowedServiceAccounts {
		key := fmt.Sprintf("allowed_service_accounts[%d] %q", i, sa)
		ns, name, ok := strings.Cut(sa, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			errs = append(errs, fmt.Errorf(`%s: want "namespace/name"`, key))
			continue
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: namespace %q is not a valid namespace name: %s", key, ns, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid service account name: %s", key, name, strings.Join(msgs, "; ")))
		}
		if seen[sa] {
			errs = append(errs, fmt.Errorf("%s is listed twice", key))
		}
		seen[sa] = true
	}
	return errors.Join(errs...)
}

// RESTConfig is the client config for the API server that cfg names: the
// kubeconfig file when set, else the in-cluster config.
func RESTConfig(cfg Config) (*rest.Config, error) {
	if cfg.Kubeconfig != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", cfg.Kubeconfig, err)
		}
		return rc, nil
	}
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes in-cluster config (kubeconfig is empty): %w", err)
	}
	return rc, nil
}
