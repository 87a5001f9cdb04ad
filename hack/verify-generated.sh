#!/usr/bin/env bash
# Fails when the committed generated files (deepcopy, CRD, RBAC role) are
# not what the code generates: it regenerates into a copy of the work tree
# and compares.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# The work tree as it is (committed or not), without Git data and build output.
tar -C "${root}" --exclude=./.git --exclude=./bin --exclude=./hack/bench/node_modules -cf - . | tar -C "${tmp}" -xf -
"${root}/hack/tools/generate.sh" "${tmp}"

generated=(api/v1alpha1/zz_generated.deepcopy.go config/crd/bases config/rbac/role.yaml)
status=0
for path in "${generated[@]}"; do
  if ! diff -ruN "${root}/${path}" "${tmp}/${path}"; then
    status=1
  fi
done
if [[ ${status} -ne 0 ]]; then
  echo "verify-generated: generated files are stale; run hack/tools/generate.sh (make generate) and commit the result" >&2
fi
exit ${status}
