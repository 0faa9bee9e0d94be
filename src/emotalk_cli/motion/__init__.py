"""Synthetic training data for the motion model: speech with exact phone timings -> ARKit motion.

- `tts`: speak text with flite's and espeak-ng's voices, returning samples and timed phones.
- `visemes`: phones -> viseme classes -> ARKit mouth poses, blended by a coarticulation model
  (Cohen & Massaro 1993 dominance functions, jaw and lips apart as in JALI, Edwards et al. 2016).
- `layers`: emotion AU layers with onset/apex/offset, blinks, head motion and gaze saccades.
- `augment`: audio augmentation (speed, pitch, noise, reverb, band limits, resampling).
- `corpus`: the generator, `python -m emotalk_cli.motion.corpus --out build/corpus --sentences N`.
"""
