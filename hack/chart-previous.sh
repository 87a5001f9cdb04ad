#!/usr/bin/env bash
# Packages the chart as it was at a commit (default: the commit that
# released chart 0.1.0) into test/e2e/testdata, for the upgrade test: a
# fresh clone then needs no history to install "the previous version".
#
# Usage: hack/chart-previous.sh [COMMIT]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
commit="${1:-ad0ef1671ecee0dc547f38104c79f0853399c85c}"
helm="$("${root}/hack/helm.sh")"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

git -C "${root}" archive "${commit}" charts/parquetrail | tar -x -C "${tmp}"
mkdir -p "${root}/test/e2e/testdata"
"${helm}" package "${tmp}/charts/parquetrail" --destination "${root}/test/e2e/testdata" >&2
version="$(sed -n 's/^version: //p' "${tmp}/charts/parquetrail/Chart.yaml")"
echo "${commit}" > "${root}/test/e2e/testdata/parquetrail-${version}.commit"
echo "test/e2e/testdata/parquetrail-${version}.tgz"
