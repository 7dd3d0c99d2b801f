#!/usr/bin/env bash
# Installs, with apt, the system packages the stack and the tests need, when they are missing.
set -euo pipefail

need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
# the capture agent's tests: a virtual display, a window manager, real input, X tools and a window to type into
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v openbox >/dev/null || need+=(openbox)
command -v xprop >/dev/null || need+=(x11-utils)
command -v xset >/dev/null || need+=(x11-xserver-utils)
command -v xterm >/dev/null || need+=(xterm)
# the screen redaction reads text with Tesseract (the binding's wheel bundles libtesseract; the English model
# and the CLI used by the tests come from Debian), and the tests render text with DejaVu fonts
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[[ -n $(ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata 2>/dev/null) ]] || need+=(tesseract-ocr-eng)
[[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || need+=(fonts-dejavu-core)
# frames are decoded by libjpeg-turbo's TurboJPEG library (through PyTurboJPEG)
[[ -n $(ls /usr/lib/*/libturbojpeg.so.0 /usr/lib/libturbojpeg.so.0 2>/dev/null) ]] || need+=(libturbojpeg0)
# the session view's test renders its HTML in a headless browser
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)  # the manifests' schema validation (deploy/local/kubevalidate.sh)

if ((${#need[@]})); then
  echo "setup: installing ${need[*]} with apt"
  sudo_=""; [[ $(id -u) == 0 ]] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The S3 server (SeaweedFS) is built from its Go module; Debian's own Go is too old for it.
if ! command -v go >/dev/null; then
  echo "setup: error: Go 1.21 or newer is needed to build the S3 server (SeaweedFS) and 'go' is not on PATH;" \
       "install Go from your platform's Go distribution and run make again" >&2
  exit 1
fi
