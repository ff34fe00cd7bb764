#!/usr/bin/env bash
# Measures `inner-universe setup` in three situations and prints its step table each time.
#   warm    a ready machine: every step only checks
#   module  cold module build, wasm32 std included (fresh cache; the std is rebuilt from source)
#   server  cold spacetimedb-standalone build (fresh cache; tens of minutes on 2 cores)
# Usage: bash benchmarks/setup_times.sh [warm] [module] [server]   (default: warm module)
set -euo pipefail
cd "$(dirname "$0")/.."
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(warm module)
export PATH="$HOME/.cargo/bin:$PATH"
setup=(.venv/bin/inner-universe --log-level warning setup)
ready_server=$(.venv/bin/python -c 'from nerv_inner_universe.toolchain import find_server; print(find_server() or "")')

for mode in "${modes[@]}"; do
    printf '\n== %s ==\n' "$mode"
    case "$mode" in
        warm)
            /usr/bin/time -f 'wall %e s, max RSS %M KiB' "${setup[@]}"
            ;;
        module)
            scratch=$(mktemp -d)
            std_marker="$(/usr/bin/rustc --print sysroot 2>/dev/null)/lib/rustlib/wasm32-unknown-unknown/lib/.nerv-inner-universe-std"
            rm -f "$std_marker"  # forces the std rebuild (from Debian's rust-web-src)
            NERV_INNER_UNIVERSE_CACHE="$scratch" SPACETIMEDB_STANDALONE="$ready_server" \
                /usr/bin/time -f 'wall %e s, max RSS %M KiB' "${setup[@]}"
            rm -rf "$scratch"
            ;;
        server)
            scratch=$(mktemp -d)
            NERV_INNER_UNIVERSE_CACHE="$scratch" PATH="$(echo "$PATH" | tr ':' '\n' | grep -v nerv-inner-universe | paste -sd:)" \
                /usr/bin/time -f 'wall %e s, max RSS %M KiB' "${setup[@]}"
            rm -rf "$scratch"
            ;;
        *) echo "unknown mode $mode (warm, module, server)" >&2; exit 2 ;;
    esac
done
