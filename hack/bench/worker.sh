# Sourced by bench.sh and scale.sh.
#
# build_worker OUT: builds shard-worker into OUT with libdeflate's inflate
# (make build INFLATE=libdeflate) when hack/libdeflate.sh provides it, else
# the pure-Go build; sets $inflater to the one built. BENCH_INFLATE=go
# benchmarks the pure-Go build.
build_worker() {
	if [ "${BENCH_INFLATE:-libdeflate}" = libdeflate ] && "$root/hack/libdeflate.sh"; then
		inflater=libdeflate
		CGO_ENABLED=1 go build -trimpath -tags libdeflate -o "$1" ./shard-worker
	else
		inflater=klauspost/compress
		CGO_ENABLED=0 go build -trimpath -o "$1" ./shard-worker
	fi
}
