# The seqae image: a static binary, CA certificates for HTTPS object stores,
# nothing else (no shell, no libc, no /etc/passwd), run as a non-root user.
# tools/container-check.sh runs the example job the way this final stage
# runs it (a static binary under an empty environment in a folder holding
# only the binary, the certificates and the data); .ci/run calls it.
#
#   docker build -t seqae .
#   docker run --rm -v "$PWD/out:/out" seqae run /jobs/sensors.yaml --out /out
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/seqae ./cmd/seqae

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/seqae /seqae
USER 65532:65532
ENTRYPOINT ["/seqae"]
