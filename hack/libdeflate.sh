#!/usr/bin/env bash
# Makes libdeflate's static library and header available for the libdeflate
# build of shard-worker (go build -tags libdeflate, with cgo): installs
# Debian's libdeflate-dev when they are missing and this is root on a
# machine with apt-get. Exits non-zero, saying why, when they stay missing.
#
#   hack/libdeflate.sh && CGO_ENABLED=1 go build -tags libdeflate ./shard-worker
set -euo pipefail

have() {
	command -v "${CC:-cc}" >/dev/null &&
		echo '#include <libdeflate.h>' | "${CC:-cc}" -E -x c - >/dev/null 2>&1 &&
		"${CC:-cc}" -print-file-name=libdeflate.a | grep -q /
}

if ! have; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "libdeflate: installing libdeflate-dev (apt-get)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq libdeflate-dev gcc libc6-dev >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null && apt-get install -y -qq libdeflate-dev gcc libc6-dev >/dev/null; }
	fi
fi
if ! have; then
	echo "libdeflate: a C compiler, libdeflate.h and libdeflate.a are needed (Debian: apt-get install libdeflate-dev gcc)" >&2
	exit 1
fi
