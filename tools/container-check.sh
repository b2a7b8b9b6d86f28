#!/usr/bin/env bash
# Checks what the Dockerfile's final stage (FROM scratch, USER 65532) assumes:
# the binary built with the README's static flags runs the example job with
# an empty environment, as a user with no /etc/passwd entry, in a root folder
# holding only the binary, the CA certificates and the data: no libc, no
# shell, no /tmp, no /etc files. It also checks that the check can fail: a
# dynamically linked build must not start there. Needs root (chroot), as CI
# has; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "container-check: needs root for chroot (CI runs as root)" >&2
  exit 1
fi
certs=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$certs" ]; then
  echo "container-check: no CA bundle at $certs (apt-get install ca-certificates)" >&2
  exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$root/seqae" ./cmd/seqae
mkdir -p "$root/etc/ssl/certs" "$root/jobs" "$root/examples/data" "$root/out"
cp "$certs" "$root/etc/ssl/certs/"
cp jobs/example.yaml "$root/jobs/"
cp -r examples/data/nested "$root/examples/data/"
chmod -R a+rX "$root"
chown 65532:65532 "$root/out"

chroot=$(command -v chroot)
run() { # run BINARY ARGS...: in the folder, as 65532, with nothing in the environment
  env -i "$chroot" --userspec=65532:65532 "$root" "$@"
}

listing=$(cd "$root" && find . -path './examples/*' -prune -o -print | sort | tr '\n' ' ')
echo "container-check: root folder: $listing"
run /seqae run /jobs/example.yaml --date 2026-11-25 --out /out --progress none --log-level warn
for table in models metrics quarantine step_losses latents; do
  if [ ! -f "$root/out/$table/dt=2026-11-25/_SUCCESS" ]; then
    echo "container-check: $table/dt=2026-11-25 was not committed" >&2
    exit 1
  fi
done
code=0
out=$(run /seqae run /jobs/example.yaml --date '' 2>&1) || code=$?
if [ "$code" != 2 ]; then
  echo "container-check: --date '': want exit status 2, got $code: $out" >&2
  exit 1
fi

# The check can fail: a binary linked against libc cannot start in the folder.
if CGO_ENABLED=1 go build -o "$root/seqae-dynamic" ./cmd/seqae 2>/dev/null &&
  readelf -l "$root/seqae-dynamic" | grep -q 'program interpreter'; then
  if run /seqae-dynamic version >/dev/null 2>&1; then
    echo "container-check: a dynamically linked binary ran in the folder: the check proves nothing" >&2
    exit 1
  fi
  echo "container-check: a dynamically linked build does not start there, as expected"
fi
echo "container-check: ok: the static binary ran the example job under env -i as 65532 with only itself, $certs and the data"
