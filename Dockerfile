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
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/shard-worker ./shard-worker && \
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
