#!/usr/bin/env bash
# Build the desktop bundle: a PyInstaller --onedir folder with Python, Qt (PySide6-Essentials),
# NumPy/SciPy, the resources (demo piece, icons, desktop entry) and the `stemroll` launcher.
#
#   packaging/build_bundle.sh            build into packaging/dist/stemroll (about 2-4 minutes)
#   packaging/build_bundle.sh --clean    throw away PyInstaller's cache first
#
# Environment:
#   PYTHON        interpreter for the build environment (default: python3.11, else python3)
#   BUILD_VENV    build environment (default: packaging/build/venv; never the developer's .venv)
#
# The build environment holds only the runtime dependencies from pyproject.toml plus PyInstaller,
# so nothing from the test or benchmark extras (scikit-learn, mir_eval ...) can leak into the
# bundle. It is rebuilt when pyproject.toml changes. On Linux the bundle copies the system
# PortAudio (Debian libportaudio2), so build where it is installed or audition is disabled.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

PYINSTALLER_SPEC="pyinstaller>=6.10,<7"
venv="${BUILD_VENV:-$here/build/venv}"
work="$here/build/work"
dist="$here/dist"
clean=""
[ "${1:-}" = "--clean" ] && clean="--clean"

pick_python() {
  local c
  for c in ${PYTHON:-} python3.11 python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "build_bundle: Python 3.11 or newer is needed (set PYTHON)" >&2; exit 1
}

stamp="$venv/.stemroll-build-env"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  py="$(pick_python)"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  echo "build_bundle: preparing the build environment in $venv" >&2
  "$venv/bin/python" - > "$venv/requirements.txt" <<'PY'
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
  log="$venv/install.log"
  if ! { "$venv/bin/python" -m pip install -q --upgrade pip \
         && "$venv/bin/python" -m pip install -q -r "$venv/requirements.txt" "$PYINSTALLER_SPEC"; } >"$log" 2>&1; then
    grep -vE "^WARNING: Location" "$log" >&2 || true
    echo "build_bundle: installing the build environment failed (log: $log)" >&2
    exit 1
  fi
  touch "$stamp"
fi

start=$(date +%s)
rm -rf "$dist/stemroll"
"$venv/bin/python" -m PyInstaller --noconfirm $clean --log-level WARN \
  --distpath "$dist" --workpath "$work" "$here/stemroll.spec"
end=$(date +%s)

bundle="$dist/stemroll"
# A user who unpacks the bundle runs ./install_desktop_entry.sh for the menu entry and file type.
install -m 0755 "$here/install_desktop_entry.sh" "$bundle/install_desktop_entry.sh"
"$venv/bin/python" "$here/bundle_sizes.py" "$bundle"
echo "build_bundle: built $bundle in $((end - start)) s; smoke test: packaging/smoke_test.sh $bundle"
