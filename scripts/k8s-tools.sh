#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that the Kubernetes tests run
# (controlplane/enrol/k8s, through envtest) into
# ${NSCALE_CACHE:-$HOME/.cache/nscale}/k8s, from the wrapper module
# integration/k8stools (its own go.mod: the main module never requires
# k8s.io/kubernetes). A version stamp makes a second run do nothing.
# Cold: several minutes and ~2 GB of memory for kube-apiserver.
set -euo pipefail
CACHE=${NSCALE_CACHE:-$HOME/.cache/nscale}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/integration/k8stools"
OUT="$CACHE/k8s"

# Keep in step with integration/k8stools/go.mod.
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.7.0

# The stamp names the versions and the wrapper module's exact content, so
# a change to go.mod, go.sum or the etcd main rebuilds.
STAMP="kubernetes=$KUBERNETES_VERSION etcd=$ETCD_VERSION src=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/etcd/main.go" | sha256sum | cut -c1-16)"
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ] && [ "$(cat "$OUT/.version" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi

grep -q "k8s.io/kubernetes $KUBERNETES_VERSION" "$SRC/go.mod" || { echo "k8s-tools: $SRC/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION" >&2; exit 1; }
grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$SRC/go.mod" || { echo "k8s-tools: $SRC/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION" >&2; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT/.version"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
cd "$SRC"

echo "k8s-tools: building etcd $ETCD_VERSION into $OUT"
go build -mod=readonly -buildvcs=false -trimpath -o "$OUT/etcd.part" ./etcd
mv "$OUT/etcd.part" "$OUT/etcd"

echo "k8s-tools: building kube-apiserver $KUBERNETES_VERSION into $OUT (several minutes and ~2 GB of memory the first time)"
go build -mod=readonly -buildvcs=false -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
  -o "$OUT/kube-apiserver.part" k8s.io/kubernetes/cmd/kube-apiserver
mv "$OUT/kube-apiserver.part" "$OUT/kube-apiserver"

"$OUT/kube-apiserver" --version
"$OUT/etcd" --version | head -1
echo "$STAMP" > "$OUT/.version"
echo "k8s-tools: ready in $OUT"
