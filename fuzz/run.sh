#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each one briefly from its seeds: a crash or a
# broken property fails the script. Usage: fuzz/run.sh [seconds per target, default 10]
#
# Needs the pinned nightly toolchain below (cargo-fuzz passes nightly-only `-Z` flags), a
# C++ compiler (libFuzzer is built from source) and crates.io.
set -euo pipefail

seconds="${1:-10}"
case "$seconds" in
'' | *[!0-9]*)
  echo "usage: $0 [seconds per target]" >&2
  exit 2
  ;;
esac

# Known to build with the project's toolchain; bump deliberately.
CARGO_FUZZ_VERSION=0.13.2
# ASan by default, as cargo-fuzz does; FUZZ_SANITIZER=none builds and runs faster.
SANITIZER="${FUZZ_SANITIZER:-address}"

# The one nightly the fuzz step runs on, so that a newer nightly never changes it unasked:
# rustup's toolchain of that date, or its `nightly` when that is the same compiler. None
# is ever downloaded here. To move the pin: install the new nightly, run this script with
# it, and change both lines.
PINNED_TOOLCHAIN=nightly-2026-05-20
PINNED_RUSTC="rustc 1.97.0-nightly (e50aa6fba 2026-05-19)"

cd "$(dirname "$0")"

# rustup must not fetch a missing toolchain behind our back (rustup >= 1.28 reads this).
export RUSTUP_AUTO_INSTALL=0
host=$(rustc -vV | sed -n 's/^host: //p')
toolchain=""
for candidate in "$PINNED_TOOLCHAIN" nightly; do
  if rustup toolchain list | grep -q "^$candidate-$host" &&
    [ "$(rustc +"$candidate" --version 2>/dev/null)" = "$PINNED_RUSTC" ]; then
    toolchain="$candidate"
    break
  fi
done
if [ -z "$toolchain" ]; then
  found=$(rustc +nightly --version 2>/dev/null || echo "no nightly toolchain")
  echo "fuzz: needs $PINNED_RUSTC: rustup's $PINNED_TOOLCHAIN, or its \`nightly\`" >&2
  echo "when that is the same compiler (found: $found). Install it with" >&2
  echo "\`rustup toolchain install $PINNED_TOOLCHAIN\`, or move the pin in fuzz/run.sh" >&2
  echo "once the targets pass on a newer nightly." >&2
  exit 1
fi
echo "==> toolchain: $toolchain ($PINNED_RUSTC)"

now() { date +%s; }
start=$(now)

if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
installed=$(now)

# Not in the main workspace, so `cargo fmt --all` there does not see these files.
cargo fmt --check

echo "==> building the fuzz targets (sanitizer: $SANITIZER)"
cargo +"$toolchain" fuzz build --sanitizer "$SANITIZER"
built=$(now)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for target in $(cargo +"$toolchain" fuzz list); do
  # A copy of the seeds: libFuzzer adds what it finds to the corpus folder it is given.
  corpus="$work/$target"
  mkdir -p "$corpus"
  if [ -d "seeds/$target" ]; then cp -R "seeds/$target/." "$corpus/"; fi
  echo "==> fuzzing $target for ${seconds}s"
  # libFuzzer logs every new input: keep that out of CI's log unless the target fails.
  # A failing input is saved in fuzz/artifacts/<target>/ (git-ignored), to reproduce
  # with `cargo +nightly fuzz run <target> <file>`.
  log="$work/$target.log"
  if cargo +"$toolchain" fuzz run --sanitizer "$SANITIZER" "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$log" || true
  else
    tail -n 80 "$log"
    mkdir -p "artifacts/$target"
    cp "$log" "artifacts/$target/run.log"
    failed+=("$target")
  fi
done
done_at=$(now)

echo "==> fuzz timings: install $((installed - start))s, build $((built - installed))s, run $((done_at - built))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> fuzz FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "==> fuzz: every target ran ${seconds}s without a failure"
