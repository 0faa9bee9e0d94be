#!/usr/bin/env bash
# System packages emotalk needs beyond PyPI: text-to-speech voices with phone timings
# (flite, espeak-ng) used to make examples and the speech corpus. Installs only what is missing.
set -euo pipefail
missing=()
command -v flite >/dev/null || missing+=(flite)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    echo "installing system packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
