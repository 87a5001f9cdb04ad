# syntax=docker/dockerfile:1
# Two images from one build:
#   --target worker   shard-worker: flattens shards and merges days in the
#                     operator's Job pods; also runs whole days locally.
#   --target manager  manager: the operator (controller), and "manager
#                     create-day", which the daily CronJob runs.
# Both are static binaries on distroless/static (CA certificates, tzdata,
# no shell), running as the non-root user 65532. The binaries embed tzdata
# too, so time zones never depend on the image.
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev
# INFLATE=libdeflate links shard-worker statically with Debian's libdeflate
# (cgo), which inflates the logs about twice as fast as the pure-Go default;
# cgo does not cross-compile here, so build it on the target's platform
# (docker build --build-arg INFLATE=libdeflate, no --platform of another).
ARG INFLATE=go
RUN if [ "$INFLATE" = libdeflate ]; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends libdeflate-dev && rm -rf /var/lib/apt/lists/*; \
    fi
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    if [ "$INFLATE" = libdeflate ]; then \
      CGO_ENABLED=1 go build -trimpath -tags libdeflate,netgo,osusergo \
        -ldflags "-s -w -X main.version=${VERSION} -linkmode external -extldflags -static" -o /out/shard-worker ./shard-worker; \
    else \
      CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
        -ldflags "-s -w -X main.version=${VERSION}" -o /out/shard-worker ./shard-worker; \
    fi && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/manager ./cmd/manager

FROM gcr.io/distroless/static-debian12:nonroot AS worker
COPY --from=build /out/shard-worker /shard-worker
USER 65532:65532
ENTRYPOINT ["/shard-worker"]

FROM gcr.io/distroless/static-debian12:nonroot AS manager
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
