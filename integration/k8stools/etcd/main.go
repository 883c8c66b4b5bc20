// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 at
// the version pinned in this module's go.mod (the one k8s.io/kubernetes of
// the same module requires), for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
