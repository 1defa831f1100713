#!/bin/sh
# run_fuzzer.sh FUZZER SECONDS SEED ARTIFACTS CORPUS...: runs one libFuzzer
# target for a bounded time (CI's fuzzing step, -Dfuzzing=true builds only).
#
# The seed is fixed (meson option fuzz_seed) so that a run is reproducible:
# the inputs tried in SECONDS are a prefix of the same sequence every time,
# and a CI result does not depend on luck.  Explore further with another
# seed or a longer time.
#
# New inputs go to a scratch corpus that is removed afterwards; the seed
# corpora and hostile inputs are only read.  A crash, leak, timeout or
# sanitizer report fails the test, and the input that caused it is kept as
# ARTIFACTS/crash-* (commit it to tests/hostile/<target>/ with the fix).
set -eu
fuzzer=$1 seconds=$2 seed=$3 artifacts=$4
shift 4
mkdir -p "$artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/aerofs-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# The target's dictionary (tests/fuzz/<target>.dict), if it has one.
dict=""
name=$(basename "$fuzzer")
name=${name#fuzz_}
here=$(dirname "$0")
[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
seeds=""
for dir in "$@"; do
	[ -d "$dir" ] && seeds="$seeds $dir"
done
# libFuzzer's default exit status for a finding is 77, which meson would
# count as a skip: make every finding (crash, leak, timeout, OOM) a failure.
status=0
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" $dict \
	"$scratch" $seeds || status=$?
[ "$status" -eq 77 ] && status=1
exit "$status"
