#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, etcd)
# from the Go module proxy and caches it outside the repository, keyed by version.
#
# Usage:
#   KUBEBUILDER_ASSETS=$(hack/controlplane.sh)   # build if needed, print the cache dir
#   hack/controlplane.sh --print-dir             # print the cache dir, build nothing
#   hack/controlplane.sh --check                 # exit 0 iff the cache is complete
#
# Environment:
#   PARQUETRAIL_CACHE         cache root (default $HOME/.cache/parquetrail)
#   PARQUETRAIL_K8S_VERSION   k8s.io/kubernetes version (default v1.37.2)
#   PARQUETRAIL_ETCD_VERSION  go.etcd.io/etcd/server/v3 version (default v3.6.6)
#
# Progress goes to stderr; stdout carries only the cache directory.
#
# Verified with these binaries (k8s v1.37.2, etcd v3.6.6, go1.26.8):
#   - envtest (sigs.k8s.io/controller-runtime v0.25.2): envtest.Environment{} starts
#     with only KUBEBUILDER_ASSETS set to the printed directory; no extra flags.
#     It runs kube-apiserver with --disable-admission-plugins=ServiceAccount, so pods
#     need no ServiceAccount object.
#   - kube-controller-manager against that apiserver, with a kubeconfig from
#     env.AddUser(envtest.User{Name: "kcm", Groups: []string{"system:masters"}}, nil):
#       kube-controller-manager --kubeconfig=FILE \
#         --controllers=job,cronjob,garbagecollector --leader-elect=false --secure-port=0
#     --secure-port=0 turns off its HTTPS endpoint (default [::]:10257, which would
#     collide between parallel test processes) and with it the authentication and
#     authorization delegation warnings. Not needed: --service-account-private-key-file
#     (the token controller is skipped), --use-service-account-credentials (false by
#     default), --authentication-skip-lookup, --authorization-always-allow-paths.
#     An Indexed Job (completions 2, parallelism 2) gets its two pods in about 1s,
#     Pending with no nodeName. Each carries the label and annotation
#     batch.kubernetes.io/job-completion-index and JOB_COMPLETION_INDEX as a fieldRef
#     to metadata.labels['batch.kubernetes.io/job-completion-index'], which a process
#     standing in for the kubelet must resolve itself. Setting both pods' status to
#     Succeeded (a terminated container with exit code 0) completes the Job
#     (completedIndexes "0,1"). Deleting the Job with background propagation lets the
#     garbage collector remove the pods.
#     No namespace controller runs, so a deleted Namespace stays Terminating.

set -euo pipefail

K8S_VERSION="${PARQUETRAIL_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${PARQUETRAIL_ETCD_VERSION:-v3.6.6}"
CACHE_ROOT="${PARQUETRAIL_CACHE:-${HOME}/.cache/parquetrail}"
CP_ROOT="${CACHE_ROOT}/controlplane"
DIR="${CP_ROOT}/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
STAMP=".complete"
BINARIES=(kube-apiserver etcd kube-controller-manager)

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

complete() {
  local b
  for b in "${BINARIES[@]}"; do
    [[ -f "${DIR}/${b}" && -x "${DIR}/${b}" ]] || return 1
  done
  [[ -f "${DIR}/${STAMP}" ]]
}

usage() {
  sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
}

case "${1:-}" in
  "") ;;
  --print-dir) printf '%s\n' "${DIR}"; exit 0 ;;
  --check) complete; exit $? ;;
  -h|--help) usage; exit 0 ;;
  *) usage; die "unknown argument: $1" ;;
esac

# Warm cache: no Go tool invocation, no lock.
if complete; then
  printf '%s\n' "${DIR}"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH"
mkdir -p "${CP_ROOT}"

# Serialize concurrent builds of the same cache root.
exec 9>"${CP_ROOT}/.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { log "waiting for another build (${CP_ROOT}/.lock)"; flock 9; }
  # Leftovers of a build that was killed outright; the lock says none is running.
  rm -rf "${CP_ROOT}"/.build.*
fi
if complete; then
  printf '%s\n' "${DIR}"
  exit 0
fi

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/parquetrail-controlplane.XXXXXX")"
OUT="$(mktemp -d "${CP_ROOT}/.build.XXXXXX")"
cleanup() { rm -rf "${SCRATCH}" "${OUT}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export GOWORK=off CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod"

# gomod_of MODULE@VERSION: path of that module's go.mod in the module cache.
gomod_of() {
  local json
  json="$(go mod download -json "$1")" || die "go mod download $1 failed"
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"${json}"
}

# local_replaces GOMOD PATTERN: module paths that GOMOD replaces with a directory
# matching PATTERN (e.g. "./staging/"), one per line.
local_replaces() {
  awk -v pat="$2" '
    /^replace[[:space:]]*\(/ { inblock = 1; next }
    inblock && /^\)/        { inblock = 0; next }
    {
      line = $0
      if (!inblock) { if (line !~ /^replace[[:space:]]/) next; sub(/^replace[[:space:]]+/, "", line) }
      n = split(line, f, /[[:space:]]+/)
      # fields: [""] path [version] => target
      i = 1; if (f[i] == "") i++
      mod = f[i]
      for (j = i; j <= n; j++) if (f[j] == "=>") { target = f[j + 1]; break }
      if (index(target, pat) == 1) print mod
      target = ""
    }' "$1"
}

# header_of GOMOD: the go and godebug lines of GOMOD, so the build keeps the
# upstream language version and GODEBUG defaults.
header_of() {
  grep -E '^(go|godebug)[[:space:]]' "$1" || true
}

# scratch_module DIR MODULE VERSION GOMOD REPLACE_PATTERN REPLACE_VERSION
scratch_module() {
  local dir="$1" mod="$2" ver="$3" gomod="$4" pat="$5" rver="$6" r n=0
  mkdir -p "${dir}"
  {
    echo "module parquetrail.local/controlplane-build"
    echo
    header_of "${gomod}"
    echo
    echo "require ${mod} ${ver}"
    echo
    echo "replace ("
    while IFS= read -r r; do
      [[ -n "${r}" ]] || continue
      echo "	${r} => ${r} ${rver}"
      n=$((n + 1))
    done < <(local_replaces "${gomod}" "${pat}")
    echo ")"
  } >"${dir}/go.mod"
  log "${mod}@${ver}: scratch module with ${n} replace(s) -> ${rver}"
}

# build MODDIR PKG NAME LDFLAGS
build() {
  local start=${SECONDS}
  log "building ${3} (${2})"
  (cd "$1" && go build -trimpath -ldflags "-s -w $4" -o "${OUT}/$3" "$2") >&2 \
    || die "building $3 failed"
  log "built ${3} in $((SECONDS - start))s"
}

start_all=${SECONDS}

# Kubernetes: its go.mod replaces each k8s.io/* staging module with
# ./staging/src/...; the released v0.MINOR.PATCH of each is the same code.
log "resolving k8s.io/kubernetes@${K8S_VERSION}"
k8s_gomod="$(gomod_of "k8s.io/kubernetes@${K8S_VERSION}")"
[[ -f "${k8s_gomod}" ]] || die "no go.mod for k8s.io/kubernetes@${K8S_VERSION}"
staging_version="v0.${K8S_VERSION#v1.}"
scratch_module "${SCRATCH}/k8s" k8s.io/kubernetes "${K8S_VERSION}" "${k8s_gomod}" ./staging/ "${staging_version}"

k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X ${p}.gitVersion=${K8S_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${k8s_minor}"
  k8s_ldflags+=" -X ${p}.gitTreeState=clean"
done

build "${SCRATCH}/k8s" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "${k8s_ldflags}"
build "${SCRATCH}/k8s" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "${k8s_ldflags}"

# etcd: the server module replaces its sibling go.etcd.io/etcd/* modules with
# ../...; the releases of the same version are the same code.
log "resolving go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
etcd_gomod="$(gomod_of "go.etcd.io/etcd/server/v3@${ETCD_VERSION}")"
[[ -f "${etcd_gomod}" ]] || die "no go.mod for go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
scratch_module "${SCRATCH}/etcd" go.etcd.io/etcd/server/v3 "${ETCD_VERSION}" "${etcd_gomod}" ../ "${ETCD_VERSION}"
build "${SCRATCH}/etcd" go.etcd.io/etcd/server/v3 etcd ""

for b in "${BINARIES[@]}"; do
  [[ -x "${OUT}/${b}" ]] || die "${b} missing after build"
done
{
  echo "k8s.io/kubernetes ${K8S_VERSION}"
  echo "go.etcd.io/etcd/server/v3 ${ETCD_VERSION}"
  go version
} >"${OUT}/${STAMP}"

# Move into place: the directory appears in one rename, only once complete.
chmod 0755 "${OUT}"
rm -rf "${DIR}"
mv "${OUT}" "${DIR}"
log "done in $((SECONDS - start_all))s: ${DIR}"
printf '%s\n' "${DIR}"
