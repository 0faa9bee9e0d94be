#!/usr/bin/env bash
# Real recorded speech for `make eval-motion-real` (evals/eval_motion_real.py), from Debian packages:
#   alsa-utils       Front_Center.wav, Front_Left.wav, ... (8 channel names spoken, 48 kHz) in sounds/alsa
#   ktuberling-data  72 single English words as ogg in ktuberling's sounds/en
# Both GPL data; they are only read by the evaluation, nothing of them ships. Installs only what is missing
# (--no-install-recommends: alsa-utils' and ktuberling's daemons and programs are not needed, only the files).
set -euo pipefail
bash "$(dirname "$0")/apt_install_missing.sh" alsa-utils ktuberling-data
# Print the two folders (the evaluation finds them the same way, through dpkg -L).
# (dpkg -L's whole list is read first: grep -m1 on a pipe would trip pipefail with SIGPIPE.)
alsa=$(dpkg -L alsa-utils | grep '/sounds/alsa$' | head -n1 || true)
words=$(dpkg -L ktuberling-data | grep '/sounds/en$' | head -n1 || true)
[ -n "$alsa" ] || { echo "alsa-utils ships no sounds/alsa folder" >&2; exit 1; }
[ -n "$words" ] || { echo "ktuberling-data ships no sounds/en folder" >&2; exit 1; }
echo "$alsa"
echo "$words"
