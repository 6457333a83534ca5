#!/usr/bin/env bash
# Creates the Python environment used to generate SKDH reference outputs:
# .tools/skdh-venv (gitignored) with scikit-digital-health 0.17.18 on Python 3.11.
# Usage: scripts/skdh/setup.sh   (idempotent; reruns only check the installed version)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.tools/skdh-venv"
want="0.17.18"

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      py="$c"
      break
    fi
  done
fi
if [[ -z "$py" ]]; then
  echo "setup.sh: Python 3.11 not found (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import skdh, sys; sys.exit(0 if skdh.__version__ == '$want' else 1)" 2>/dev/null; then
  echo "skdh $want already in $venv"
  exit 0
fi

"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "scikit-digital-health==$want"
"$venv/bin/python" -c "import skdh; print('skdh', skdh.__version__, 'in', '$venv')"
