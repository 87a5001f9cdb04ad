#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy and caches it outside the
# repository, keyed by version; the chart's tests and `make helm` use it.
#
# Usage:
#   HELM=$(hack/helm.sh)        # build if needed, print the binary's path
#   hack/helm.sh --print-path   # print the path, build nothing
#   hack/helm.sh --check        # exit 0 iff the binary is cached
#
# Environment:
#   PARQUETRAIL_CACHE         cache root (default $HOME/.cache/parquetrail)
#   PARQUETRAIL_HELM_VERSION  helm.sh/helm version (default v3.22.0; v4.x works too)
#
# Progress goes to stderr; stdout carries only the binary's path.
#
# helm.sh/helm/v3 has no replace directives, so `go install` builds it as
# released (about 2 minutes on 2 cores, cold). The ldflags are the ones its
# Makefile sets: the version that `helm version` prints, and for v3 the
# Kubernetes version that `helm template` and `helm lint` assume without a
# cluster, which is that of the k8s.io/client-go it is built with.

set -euo pipefail

VERSION="${PARQUETRAIL_HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${PARQUETRAIL_CACHE:-${HOME}/.cache/parquetrail}"
DIR="${CACHE_ROOT}/tools"
BIN="${DIR}/helm-${VERSION}"

log() { printf 'helm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
  "") ;;
  --print-path) printf '%s\n' "${BIN}"; exit 0 ;;
  --check) [[ -x "${BIN}" ]]; exit $? ;;
  -h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac

if [[ -x "${BIN}" ]]; then
  printf '%s\n' "${BIN}"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH"
[[ "${VERSION}" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]] || die "PARQUETRAIL_HELM_VERSION=${VERSION} is not vMAJOR.MINOR.PATCH"
MAJOR="${BASH_REMATCH[1]}"
MODULE="helm.sh/helm/v${MAJOR}"
mkdir -p "${DIR}"

# Serialize concurrent builds (parallel test packages may all ask).
exec 9>"${DIR}/.helm.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "waiting for another build (${DIR}/.helm.lock)"; flock 9; }
fi
if [[ -x "${BIN}" ]]; then
  printf '%s\n' "${BIN}"
  exit 0
fi

export GOWORK=off CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod"
OUT="$(mktemp -d "${DIR}/.helm-build.XXXXXX")"
trap 'rm -rf "${OUT}"' EXIT
trap 'exit 130' INT TERM

json="$(go mod download -json "${MODULE}@${VERSION}")" || die "go mod download ${MODULE}@${VERSION} failed"
gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"${json}")"
[[ -f "${gomod}" ]] || die "no go.mod for ${MODULE}@${VERSION}"
if grep -Eq '^replace[[:space:]]' "${gomod}"; then
  die "${MODULE}@${VERSION} has replace directives; go install cannot build it"
fi

ldflags="-s -w -X ${MODULE}/internal/version.version=${VERSION} -X ${MODULE}/internal/version.gitTreeState=clean"
if [[ "${MAJOR}" == 3 ]]; then
  # client-go v0.MINOR.PATCH is Kubernetes v1.MINOR.
  cg="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "${gomod}")"
  minor="${cg#v0.}"; minor="${minor%%.*}"
  if [[ -n "${minor}" ]]; then
    for p in pkg/lint/rules pkg/chartutil; do
      ldflags+=" -X ${MODULE}/${p}.k8sVersionMajor=1 -X ${MODULE}/${p}.k8sVersionMinor=${minor}"
    done
  fi
fi

start=${SECONDS}
log "building ${MODULE}/cmd/helm@${VERSION}"
GOBIN="${OUT}" go install -trimpath -ldflags "${ldflags}" "${MODULE}/cmd/helm@${VERSION}" >&2 \
  || die "building helm ${VERSION} failed"
"${OUT}/helm" version --short >&2 || die "the built helm does not run"
mv "${OUT}/helm" "${BIN}"
log "built in $((SECONDS - start))s: ${BIN}"
printf '%s\n' "${BIN}"
