# Sourced by the other scripts: one shared build directory outside the clone,
# so the README's commands, the tests and CI reuse one optimized build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adamame/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
ADAMAME_BIN="$CARGO_TARGET_DIR/release"
export ADAMAME_BIN
