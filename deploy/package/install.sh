#!/usr/bin/env bash
# Install, upgrade or remove the teachstream agent for the current user.
#
#   ./install.sh [--prefix DIR]      install or upgrade (default prefix: ~/.local/share/teachstream)
#   ./install.sh --remove [--prefix DIR]
#
# Installs bin/teachstream, the browser extension's native messaging host with its manifests for
# Chromium, Chrome and Firefox (the extension itself is installed in the browser: see INSTALL.md)
# and, where systemd runs, the user unit; the config goes to
# ~/.config/teachstream/agent.toml only if there is none (an upgrade keeps it). The spool and
# the consent file in ~/.local/state/teachstream are never touched: removal leaves them for the
# person to delete (`rm -r ~/.local/state/teachstream`) once the spool has been sent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix="$HOME/.local/share/teachstream"
remove=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --remove) remove=1; shift ;;
    *) echo "install.sh: unknown option $1 (use --prefix DIR, --remove)" >&2; exit 2 ;;
  esac
done
unit_dir="$HOME/.config/systemd/user"
has_systemd() { command -v systemctl >/dev/null && systemctl --user show-environment >/dev/null 2>&1; }

if [ "$remove" = 1 ]; then
  if has_systemd; then systemctl --user disable --now teachstream-agent 2>/dev/null || true; fi
  [ -x "$prefix/bin/teachstream" ] && "$prefix/bin/teachstream" agent browser-install --remove >/dev/null || true
  rm -f "$unit_dir/teachstream-agent.service" "$prefix/bin/teachstream"
  rm -rf "$prefix/share/browser-extension"
  rmdir "$prefix/bin" "$prefix/share" "$prefix" 2>/dev/null || true
  echo "removed the agent from $prefix (config and ~/.local/state/teachstream kept)"
  exit 0
fi

command -v python3 >/dev/null || { echo "install.sh: the agent needs python3 (3.11 or newer)" >&2; exit 1; }
install -D -m 0755 "$here/bin/teachstream" "$prefix/bin/teachstream"
mkdir -p "$prefix/share/browser-extension"
cp "$here/share/browser-extension/"* "$prefix/share/browser-extension/"
"$prefix/bin/teachstream" agent browser-install >/dev/null
echo "browser extension host installed; load the extension from $prefix/share/browser-extension (INSTALL.md)"
if [ ! -e "$HOME/.config/teachstream/agent.toml" ]; then
  install -D -m 0600 "$here/etc/agent.example.toml" "$HOME/.config/teachstream/agent.toml"
  echo "wrote ~/.config/teachstream/agent.toml from the example: set kafka_bootstrap and policy_keys"
fi
if has_systemd; then
  install -D -m 0644 "$here/share/systemd/teachstream-agent.service" "$unit_dir/teachstream-agent.service"
  systemctl --user daemon-reload
  systemctl --user try-restart teachstream-agent || true
  echo "enable with: systemctl --user enable --now teachstream-agent"
fi
echo "installed $("$prefix/bin/teachstream" --version 2>/dev/null || echo teachstream) in $prefix"
