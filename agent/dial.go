package agent

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// maxControlPlaneMessage lets a Catalog or Plan page of a large catalog
// through; gRPC's default of 4 MiB is tight for thousands of tables.
const maxControlPlaneMessage = 64 << 20

// agentBearer adds the agent's own credential to every control-plane call.
type agentBearer struct{ header string }

func (b agentBearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

// RequireTransportSecurity is false because the connection is plaintext
// for now (see dialControlPlane).
func (agentBearer) RequireTransportSecurity() bool { return false }

// dialControlPlane returns a lazily connecting client connection.
//
// The connection is plaintext gRPC: the agent token and the end users'
// tokens cross it in the clear. Until enrolment brings TLS, the control
// plane's agent API must be on loopback (a sidecar proxy) or reached through
// a TLS-terminating tunnel; Run warns when the address is not loopback.
func dialControlPlane(cfg ControlPlaneConfig, token []byte) (*grpc.ClientConn, error) {
	return grpc.NewClient(string(cfg.Address),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(agentBearer{header: "Bearer " + string(token)}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxControlPlaneMessage)),
	)
}
