#!/usr/bin/env bash
# Recorded speech for the motion corpus (python -m emotalk_cli.motion.recorded; make corpus-recorded), from Debian:
#   asterisk-core-sounds-en-wav  568 Asterisk PBX prompts, US English, 8 kHz wav (Allison Smith, CC-BY-SA 3.0)
#   asterisk-core-sounds-en      their transcripts (core-sounds-en.txt.gz)
# Read at build time only; nothing of them ships. Installs only what is missing (--no-install-recommends:
# the Asterisk PBX itself is not needed, only the files).
set -euo pipefail
missing=()
for pkg in asterisk-core-sounds-en-wav asterisk-core-sounds-en; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    echo "installing corpus data packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
