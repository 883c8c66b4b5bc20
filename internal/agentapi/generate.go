// Package agentapi is the generated gRPC API between agents and the control
// plane (agentapi.proto). Both sides import it; neither imports the other.
package agentapi

//go:generate sh -c "PATH=$NSCALE_CACHE/bin:$PATH protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative agentapi.proto"
