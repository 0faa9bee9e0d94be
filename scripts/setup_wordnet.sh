#!/usr/bin/env bash
# WordNet 3.0 data (Debian package wordnet-base), needed only to build weights/lexicon.safetensors
# (make weights-lexicon); the product reads the built file. Installs only when missing.
set -euo pipefail
if [ ! -f /usr/share/wordnet/data.adj ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    echo "installing system package: wordnet-base" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wordnet-base >/dev/null
fi
