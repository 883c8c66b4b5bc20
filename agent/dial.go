package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/nscale/nscale/internal/tlsfiles"
)

// maxControlPlaneMessage lets a Catalog or Plan page of a large catalog
// through; gRPC's default of 4 MiB is tight for thousands of tables.
const maxControlPlaneMessage = 64 << 20

// agentBearer adds the agent's own credential to every control-plane call.
type agentBearer struct {
	header string
	secure bool // the connection is TLS: gRPC then refuses to send it in the clear
}

func (b agentBearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

// RequireTransportSecurity holds the credential to TLS whenever TLS is
// configured.
func (b agentBearer) RequireTransportSecurity() bool { return b.secure }

// dialControlPlane returns a lazily connecting client connection: TLS,
// verified against control_plane.tls.ca_file, when that is set; plaintext
// otherwise, which Validate allows only on loopback or with
// control_plane.insecure.
func dialControlPlane(cfg ControlPlaneConfig, token []byte) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if cfg.TLS.CAFile != "" {
		tc, err := tlsfiles.ClientConfig(cfg.TLS.CAFile, cfg.TLS.ServerName)
		if err != nil {
			return nil, fmt.Errorf("control_plane.tls.ca_file: %w", err)
		}
		creds = credentials.NewTLS(tc)
	}
	return grpc.NewClient(string(cfg.Address),
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(agentBearer{header: "Bearer " + string(token), secure: cfg.TLS.CAFile != ""}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxControlPlaneMessage)),
	)
}

// blobClient fetches pre-signed URLs: with the control plane's CA added to
// the system roots when TLS is configured (its /blob/ URLs are https then;
// S3's verify with the system roots), else nil for fetch's default.
func blobClient(cfg ControlPlaneConfig) (*http.Client, error) {
	if cfg.TLS.CAFile == "" {
		return nil, nil
	}
	pool, err := tlsfiles.SystemPoolWith(cfg.TLS.CAFile)
	if err != nil {
		return nil, fmt.Errorf("control_plane.tls.ca_file: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	return &http.Client{Transport: tr}, nil
}
