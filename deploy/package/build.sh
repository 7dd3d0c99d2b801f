#!/usr/bin/env bash
# Build the agent package: dist/teachstream-agent-<version>-<os>-<arch>.tar.gz
#
# Inside: bin/teachstream, a zipapp built with shiv (https://shiv.readthedocs.io) holding
# teachstream with the capture extra and every dependency as wheels for this platform (it
# needs a python3 >= 3.11 on the device, and unpacks itself once into ~/.shiv); the systemd
# user unit, a launchd agent for macOS (untested), the example config, the browser extension
# (share/browser-extension), install.sh and INSTALL.md. Dependencies come from PyPI (or pip's cache); nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
version=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
name="teachstream-agent-${version}-${platform}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/$name"
mkdir -p "$root/bin" "$root/share/systemd" "$root/share/launchd" "$root/share/browser-extension" "$root/etc" dist

"$PY" -m pip install --quiet "shiv>=1.0.6"
"$PY" -m shiv --compressed --reproducible --python "/usr/bin/env python3" \
  --console-script teachstream --output-file "$root/bin/teachstream" ".[capture]"

sed 's|%h/.local/share/teachstream/venv/bin/teachstream|%h/.local/share/teachstream/bin/teachstream|' \
  deploy/systemd/teachstream-agent.service > "$root/share/systemd/teachstream-agent.service"
cp deploy/package/io.teachstream.agent.plist "$root/share/launchd/"
cp deploy/agent.example.toml "$root/etc/agent.example.toml"
cp deploy/browser-extension/* "$root/share/browser-extension/"
cp deploy/package/install.sh deploy/package/INSTALL.md "$root/"
tar -C "$work" -czf "dist/$name.tar.gz" "$name"
echo "built dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
