#!/usr/bin/env bash
# Generates what controller-gen derives from the code: the API's deepcopy
# functions, the CRD (also copied into the Helm chart) and the manager's RBAC
# role; and what internal/record/gen derives from the table of CloudTrail
# fields: the Field constants and the scanner's key lookup.
#
# Usage: hack/tools/generate.sh [ROOT]   (ROOT: a copy of the repository;
#                                          default: this repository)
#
# controller-gen is built from hack/tools/go.mod (its own module, so that its
# dependencies stay out of the main module) and cached by version.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${1:-${here}/../..}" && pwd)"
version="$(cd "${here}" && go list -m -f '{{.Version}}' sigs.k8s.io/controller-tools)"
bin="${PARQUETRAIL_CACHE:-${HOME}/.cache/parquetrail}/tools/controller-gen-${version}"
if [[ ! -x "${bin}" ]]; then
  echo "generate: building controller-gen ${version}" >&2
  (cd "${here}" && go build -o "${bin}.tmp" sigs.k8s.io/controller-tools/cmd/controller-gen)
  mv "${bin}.tmp" "${bin}"
fi

cd "${root}"
(cd internal/record && go run ./gen)
"${bin}" object paths=./api/...
"${bin}" crd paths=./api/... output:crd:artifacts:config=config/crd/bases
"${bin}" rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac
# The Helm chart ships the same CRD as a template (templates/crd.yaml reads
# it; test/chart checks that it is this one).
if [[ -d charts/parquetrail/files/crds ]]; then
  cp config/crd/bases/*.yaml charts/parquetrail/files/crds/
fi
