#!/usr/bin/env bash
# Builds the image offline with podman from tools/Containerfile.local (the
# Dockerfile's FROM scratch final stage around the static binary built here)
# and runs the example job in it with no network. Not part of .ci/run: it
# needs podman (apt-get install podman runc). On Debian 12 in a container
# with hybrid cgroups, crun refuses to start ("cgroups in hybrid mode not
# supported") and podman's default rlimits are above what the container may
# set, hence runc and the lower --ulimit values (PODMAN_GLOBAL_FLAGS and
# PODMAN_RUN_FLAGS override them).
set -euo pipefail
cd "$(dirname "$0")/.."
ctx=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$ctx" "$out"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/seqae" ./cmd/seqae
cp /etc/ssl/certs/ca-certificates.crt tools/Containerfile.local "$ctx/"
podman build -q -f "$ctx/Containerfile.local" -t localhost/seqae:check "$ctx"
chown 65532:65532 "$out"
read -ra global <<<"${PODMAN_GLOBAL_FLAGS---runtime runc}"
read -ra limits <<<"${PODMAN_RUN_FLAGS---ulimit nofile=1024:1024 --ulimit nproc=1024:1024}"
podman "${global[@]}" run --rm --network none "${limits[@]}" \
  -v "$PWD/jobs:/jobs:ro" -v "$PWD/examples:/examples:ro" -v "$out:/out" -w / \
  localhost/seqae:check run /jobs/example.yaml --date 2026-11-25 --out /out --progress none --log-level warn
for table in models metrics quarantine step_losses latents; do
  test -f "$out/$table/dt=2026-11-25/_SUCCESS" || { echo "podman-check: $table not committed" >&2; exit 1; }
done
echo "podman-check: ok: the FROM scratch image ran the example job as $(podman image inspect localhost/seqae:check --format '{{.Config.User}}'), $(podman image inspect localhost/seqae:check --format '{{.Size}}') bytes"
