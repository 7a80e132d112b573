#!/usr/bin/env bash
# Put Stemroll in the desktop's application menu for the current user, with its icon, and make
# *.stemroll project files open in it.  Nothing outside your home folder is touched.
#
#   install_desktop_entry.sh                  the `stemroll-gui` command on PATH (pip install)
#   install_desktop_entry.sh --bundle DIR     a built bundle (DIR/stemroll); inside a bundle folder
#                                             this is the default
#   install_desktop_entry.sh --exec PROGRAM   any program that opens the editor (files are passed to it)
#   install_desktop_entry.sh --uninstall      remove everything this script installed
#
# Installs into ${XDG_DATA_HOME:-~/.local/share}:
#   applications/stemroll.desktop                  the menu entry (Exec= points at the command)
#   icons/hicolor/NxN/apps/stemroll.png            16, 32, 48, 64, 128, 256 px, and scalable/apps/stemroll.svg
#   mime/packages/stemroll-mime.xml                the type application/x-stemroll-project for *.stemroll
# and sets Stemroll as the default application for that type in ${XDG_CONFIG_HOME:-~/.config}/mimeapps.list.
# The desktop, MIME and icon caches are refreshed when their tools (desktop-file-utils,
# shared-mime-info, gtk-update-icon-cache) are installed; log out and in if the menu does not update.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
config="${XDG_CONFIG_HOME:-$HOME/.config}"
mime_type="application/x-stemroll-project"
sizes="16 32 48 64 128 256"

die() { echo "install_desktop_entry: $*" >&2; exit 1; }

# Where the resources are: in the repository (packaging/../resources) or in a bundle folder.
if [ -f "$here/../resources/stemroll.desktop" ]; then
  res="$(cd "$here/../resources" && pwd)"; default_exec=""
elif [ -f "$here/_internal/stemroll/resources/stemroll.desktop" ]; then
  res="$here/_internal/stemroll/resources"; default_exec="$here/stemroll"
else
  die "cannot find Stemroll's resources (stemroll.desktop) next to $here"
fi

exec_cmd="$default_exec"
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || die "--bundle needs the bundle folder"
              exec_cmd="$(cd "$2" 2>/dev/null && pwd)/stemroll" || die "$2: no such folder"
              [ -x "$exec_cmd" ] || die "$2: not a Stemroll bundle (no executable 'stemroll' in it)"; shift 2 ;;
    --exec) [ $# -ge 2 ] || die "--exec needs a program"; exec_cmd="$2"; shift 2 ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$data/applications" || true; fi
  if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$data/mime" >/dev/null || true; fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$data/icons/hicolor" ]; then
    gtk-update-icon-cache -q -t -f "$data/icons/hicolor" || true
  fi
}

# set_default_app FILE TYPE DESKTOP_ID: TYPE=DESKTOP_ID under [Default Applications], other lines kept.
set_default_app() {
  local file="$1" type="$2" id="$3" tmp
  mkdir -p "$(dirname "$file")"; touch "$file"
  tmp="$(mktemp "$file.XXXXXX")"
  awk -v type="$type" -v id="$id" '
    /^\[/ { if (insec && !done) { print type "=" id; done = 1 } insec = ($0 == "[Default Applications]") }
    insec && index($0, type "=") == 1 { if (!done) { print type "=" id; done = 1 } next }
    { print }
    END { if (!done) { if (!insec) print "[Default Applications]"; print type "=" id } }' "$file" > "$tmp"
  mv "$tmp" "$file"
}

# remove_default_app FILE TYPE DESKTOP_ID: drop that exact line.
remove_default_app() {
  local file="$1" tmp
  [ -f "$file" ] || return 0
  tmp="$(mktemp "$file.XXXXXX")"
  grep -vxF "$2=$3" "$file" > "$tmp" || true
  mv "$tmp" "$file"
}

if [ "$action" = uninstall ]; then
  rm -f "$data/applications/stemroll.desktop" "$data/mime/packages/stemroll-mime.xml" \
        "$data/icons/hicolor/scalable/apps/stemroll.svg"
  for n in $sizes; do rm -f "$data/icons/hicolor/${n}x${n}/apps/stemroll.png"; done
  remove_default_app "$config/mimeapps.list" "$mime_type" stemroll.desktop
  refresh_caches
  echo "install_desktop_entry: removed Stemroll's menu entry, icons and file type from $data"
  exit 0
fi

if [ -z "$exec_cmd" ]; then
  exec_cmd="$(command -v stemroll-gui || true)"
  [ -n "$exec_cmd" ] || die "no stemroll-gui command on PATH: pip install Stemroll first, or pass --bundle DIR or --exec PROGRAM"
fi
# The Exec key: an argument with reserved characters goes in double quotes with \ before " ` $ \,
# then the string escape doubles every backslash, and a literal % is written %%.
quoted="$exec_cmd"
case "$exec_cmd" in
  *[[:space:]\"\'\\\$\`\<\>\~\|\&\;\*\?\#\(\)]*)
    quoted="\"$(printf '%s' "$exec_cmd" | sed -e 's/[\\"`$]/\\&/g')\"" ;;
esac
quoted="$(printf '%s' "$quoted" | sed -e 's/\\/\\\\/g' -e 's/%/%%/g')"

mkdir -p "$data/applications" "$data/mime/packages" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=.*|Exec=$(printf '%s' "$quoted" | sed 's/[|&\\]/\\&/g') %F|" \
    -e "/^TryExec=/d" "$res/stemroll.desktop" > "$data/applications/stemroll.desktop"
chmod 0644 "$data/applications/stemroll.desktop"
for n in $sizes; do
  [ -f "$res/icons/stemroll-$n.png" ] || die "$res/icons/stemroll-$n.png is missing"
  install -D -m 0644 "$res/icons/stemroll-$n.png" "$data/icons/hicolor/${n}x${n}/apps/stemroll.png"
done
install -m 0644 "$res/icons/stemroll.svg" "$data/icons/hicolor/scalable/apps/stemroll.svg"
install -m 0644 "$res/stemroll-mime.xml" "$data/mime/packages/stemroll-mime.xml"
set_default_app "$config/mimeapps.list" "$mime_type" stemroll.desktop
refresh_caches
echo "install_desktop_entry: Stemroll is in the application menu (Exec=$quoted %F); *.stemroll files open in it"
