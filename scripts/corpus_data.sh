#!/usr/bin/env bash
# Recorded speech for the motion corpus (python -m emotalk_cli.motion.recorded; make corpus-recorded), from Debian:
#   asterisk-core-sounds-en-wav  568 Asterisk PBX prompts, US English, 8 kHz wav (Allison Smith, CC-BY-SA 3.0)
#   asterisk-core-sounds-en      their transcripts (core-sounds-en.txt.gz)
# Read at build time only; nothing of them ships. Installs only what is missing (--no-install-recommends:
# the Asterisk PBX itself is not needed, only the files).
set -euo pipefail
bash "$(dirname "$0")/apt_install_missing.sh" asterisk-core-sounds-en-wav asterisk-core-sounds-en
