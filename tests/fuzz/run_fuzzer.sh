#!/bin/sh
# run_fuzzer.sh FUZZER SECONDS ARTIFACTS CORPUS...: runs one libFuzzer target
# for a bounded time (CI's fuzzing step, -Dfuzzing=true builds only).
#
# New inputs go to a scratch corpus that is removed afterwards; the seed
# corpora and hostile inputs are only read.  A crash, leak, timeout or
# sanitizer report fails the test, and the input that caused it is kept as
# ARTIFACTS/crash-* (commit it to tests/hostile/<target>/ with the fix).
set -eu
fuzzer=$1 seconds=$2 artifacts=$3
shift 3
mkdir -p "$artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/aerofs-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
seeds=""
for dir in "$@"; do
	[ -d "$dir" ] && seeds="$seeds $dir"
done
# libFuzzer's default exit status for a finding is 77, which meson would
# count as a skip: make every finding (crash, leak, timeout, OOM) a failure.
status=0
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" \
	"$scratch" $seeds || status=$?
[ "$status" -eq 77 ] && status=1
exit "$status"
