#!/usr/bin/env bash
# Fails when the committed generated files (deepcopy, CRD, RBAC role, the
# record fields and the scanner's lookup) are
# not what the code generates: it regenerates into a copy of the work tree
# and compares.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# What controller-gen reads, as it is in the work tree (committed or not):
# the module, the API, the controllers and the packages they import.
(cd "${root}" && tar -cf - go.mod go.sum api controllers internal config hack/tools) | tar -C "${tmp}" -xf -
"${root}/hack/tools/generate.sh" "${tmp}"

generated=(api/v1alpha1/zz_generated.deepcopy.go config/crd/bases config/rbac/role.yaml
  internal/record/zz_generated_fields.go internal/scan/zz_generated_lookup.go)
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
