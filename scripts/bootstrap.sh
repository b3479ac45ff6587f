# Sourced by the scripts in this folder: makes .venv, installs the dependencies when
# pyproject.toml changed, and builds the Rust extension in release mode in place.
# Idempotent and quick when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PYO3_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[bootstrap] creating $VENV" >&2
    python3 -m venv "$VENV"
fi
# every extra, so that the tests and benchmarks cover pandas, Arrow, polars, HDF5, Dask...
EXTRAS="pandas,arrow,polars,hdf5,db,plot,dask,duckdb,dev"
# Rust dependencies are cargo's business; only the Python ones need a fresh install
deps_stamp="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ "$(cat "$VENV/.deps-stamp" 2>/dev/null)" != "$deps_stamp" ]; then
    echo "[bootstrap] installing dependencies into $VENV" >&2
    log="$VENV/bootstrap.log"
    # quiet unless it fails: then the whole log says why
    if ! { "$VENV/bin/pip" install -q --disable-pip-version-check -U pip "maturin>=1.7,<2" &&
           (cd "$ROOT" && VIRTUAL_ENV="$VENV" "$VENV/bin/maturin" develop -q --release -E "$EXTRAS"); } >"$log" 2>&1; then
        cat "$log" >&2
        echo "[bootstrap] installing dependencies failed (log above, also in $log)" >&2
        exit 1
    fi
    echo "$deps_stamp" > "$VENV/.deps-stamp"
else
    (cd "$ROOT" && VIRTUAL_ENV="$VENV" "$VENV/bin/maturin" develop -q --release --skip-install)
fi
