#!/usr/bin/env bash
# The main job: a tour of joule-sync on a real Joule node, from a fresh checkout.
# With no node configured ($JOULE_URL unset and no ~/.joule/nodes.json), it starts the local
# dev node (installing upstream jouled and PostgreSQL the first time) and registers it; then it
# loads a week of 3-phase power (3 million rows) unless it is there, exports it to
# out/building_power.parquet with a progress bar, plots a decimated day to out/*.png and
# prints where everything is.  Run it again: the stream is kept, the files are made anew.
# Usage: scripts/export.sh [--node NAME] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec joule-sync demo --out "$PWD/out" "$@"
