package agent

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/nscale/nscale/internal/tlsfiles"
)

// maxControlPlaneMessage lets a Catalog or Plan page of a large catalog
// through; gRPC's default of 4 MiB is tight for thousands of tables.
const maxControlPlaneMessage = 64 << 20

// blobClient fetches pre-signed URLs with the control plane's CA bundle
// added to the system roots (its /blob/ URLs may be https with a
// certificate of that CA; S3's verify with the system roots).
func blobClient(cfg ControlPlaneConfig) (*http.Client, error) {
	pool, err := tlsfiles.SystemPoolWith(cfg.TLS.CAFile)
	if err != nil {
		return nil, fmt.Errorf("control_plane.tls.ca_file: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	return &http.Client{Transport: tr}, nil
}
