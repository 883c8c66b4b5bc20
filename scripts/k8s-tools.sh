#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that the Kubernetes tests run
# (controlplane/enrol/k8s, through envtest), and the kube-controller-manager,
# kube-scheduler and kwok (fake nodes) of the chart's rollout test
# (integration/k8srollout_test.go), into
# ${NSCALE_CACHE:-$HOME/.cache/nscale}/k8s, from the wrapper module
# integration/k8stools (its own go.mod: the main module never requires
# k8s.io/kubernetes). A version stamp makes a second run do nothing.
# Cold: several minutes and ~2 GB of memory for each Kubernetes binary.
set -euo pipefail
CACHE=${NSCALE_CACHE:-$HOME/.cache/nscale}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/integration/k8stools"
OUT="$CACHE/k8s"

# Keep in step with integration/k8stools/go.mod.
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.7.0
KWOK_VERSION=v0.8.0
# kwok-stages.yaml: kwok's own "fast" node and pod stages (what kwokctl
# runs it with), from the module; kwok refuses to start without stages.
FILES="etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwok-stages.yaml"
KWOK_STAGES="node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete"

# The stamp names the versions and the wrapper module's exact content, so
# a change to go.mod, go.sum or the etcd main rebuilds.
STAMP="kubernetes=$KUBERNETES_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION stages=${KWOK_STAGES// /,} src=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/etcd/main.go" | sha256sum | cut -c1-16)"
have=1
for f in $FILES; do [ -s "$OUT/$f" ] || have=0; done
if [ "$have" = 1 ] && [ "$(cat "$OUT/.version" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi

grep -q "k8s.io/kubernetes $KUBERNETES_VERSION" "$SRC/go.mod" || { echo "k8s-tools: $SRC/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION" >&2; exit 1; }
grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$SRC/go.mod" || { echo "k8s-tools: $SRC/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION" >&2; exit 1; }
grep -q "sigs.k8s.io/kwok $KWOK_VERSION" "$SRC/go.mod" || { echo "k8s-tools: $SRC/go.mod does not require sigs.k8s.io/kwok $KWOK_VERSION" >&2; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT/.version"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
cd "$SRC"

echo "k8s-tools: building etcd $ETCD_VERSION into $OUT"
go build -mod=readonly -buildvcs=false -trimpath -o "$OUT/etcd.part" ./etcd
mv "$OUT/etcd.part" "$OUT/etcd"

# One at a time: each Kubernetes binary needs ~2 GB of memory cold.
for b in kube-apiserver kube-controller-manager kube-scheduler; do
  echo "k8s-tools: building $b $KUBERNETES_VERSION into $OUT (minutes and ~2 GB of memory the first time)"
  go build -mod=readonly -buildvcs=false -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$OUT/$b.part" "k8s.io/kubernetes/cmd/$b"
  mv "$OUT/$b.part" "$OUT/$b"
done

echo "k8s-tools: building kwok $KWOK_VERSION into $OUT"
go build -mod=readonly -buildvcs=false -trimpath \
  -ldflags "-s -w" \
  -o "$OUT/kwok.part" sigs.k8s.io/kwok/cmd/kwok
mv "$OUT/kwok.part" "$OUT/kwok"
stages=$(go list -mod=readonly -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
for f in $KWOK_STAGES; do
  echo "---"
  cat "$stages/$f.yaml"
done > "$OUT/kwok-stages.yaml.part"
mv "$OUT/kwok-stages.yaml.part" "$OUT/kwok-stages.yaml"

for b in kube-apiserver kube-controller-manager kube-scheduler; do "$OUT/$b" --version; done
"$OUT/kwok" --version
"$OUT/etcd" --version | head -1
echo "$STAMP" > "$OUT/.version"
echo "k8s-tools: ready in $OUT"
