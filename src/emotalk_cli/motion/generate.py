"""Audio + AU prompt -> motion: the library behind `emotalk animate`.

    model = load_model()                                       # weights/motion.safetensors
    wave = load_audio("a.wav")                                 # [N] at 16 kHz
    au = au_frames(times, keyframes, num_frames, fps)          # [T, 24] from an AU track
    motion = generate_motion(model, wave, au, GenerateOptions(seed=1))
    motion["arkit"]  # [T, 52];  head_rotation [T, 3], head_translation [T, 3], gaze [T, 2]

How: the sampler (sampler.py) integrates from noise over the whole clip at once; the model it calls
is `WindowedDenoiser`, which cuts the clip into windows of the model's length overlapping by
`overlap` frames, denoises them in batches (each window guided by CFGDenoiser: its prompted,
null-prompt and null-audio passes), and blends the windows' estimates with weights that ramp across
each overlap. Every step therefore
sees one sequence: overlaps agree by construction, with no seam to cross-fade afterwards.

Long clips: a clip over `chunk` frames (a minute) is sampled a chunk at a time, each chunk's first
`chunk_overlap` frames inpainted with the end of the chunk before, as EDGE (Tseng et al., CVPR 2023,
"EDGE: Editable Dance Generation From Music", Sec. 3.3 long-form generation) makes long dances. So the
sampler's state is a chunk's, whatever the length: memory grows only by the clip's own arrays (audio
features 0.96 MB and motion 0.36 MB a minute), and clips up to a minute are sampled exactly as before.

Calm start and end: the AU prompt fades in and out over `prompt_ramp` seconds; the first and last
frames are held at the rest pose during sampling (inpainting of the x0 estimate) and the motion
eases out of / into rest over `calm_frames` frames. `--seed` sets the starting noise, so blinks,
head motion and gaze differ per seed and the same seed repeats exactly.

Speech at the very edge: the model hears `silence_pad` frames of silence before the audio and after
it, and those frames are cut from the result, so the rest pose is held just outside the clip and the
mouth eases out of rest there. A recording that starts mid-word (trimmed prompts, cut-up takes) then
opens the mouth on its first frame, as the speaker's did, instead of being pinned shut; head, eyes
and brows still start and end at rest. Trimmed speech is common: 164 of the corpus' 200 held-out
utterances start speaking within 2 frames, which is why the held-out TTS figure gains most. Chosen on a validation set of recorded speech
(Asterisk's prompts, another speaker than the eval's; `evals/eval_motion_real.py --recordings asterisk
--every 5`): lip sync r 0.717 with no pad, 0.733 with 1 frame, 0.740 with 2, 0.738 with 4 (the model
then shipped); 0.720, 0.747 and 0.746 with 0, 2 and 4 frames (a rest-start fine-tune of it); bilabial
closure fell with 4 (0.63 -> 0.60, 0.61 -> 0.57). On the reported sets, 2 frames took the shipped
model from 0.681 to 0.708 on real speech and from 0.765 to 0.821 on held-out TTS voices (closure 81.1 % and 81.6 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.audio.features import FeatureConfig, audio_features, frame_count
from emotalk_cli.motion.denoiser import ARKIT, ROTATION, TRANSLATION, MotionModel, unpack_motion
from emotalk_cli.motion.guidance import CFGDenoiser
from emotalk_cli.motion.sampler import SAMPLERS
from emotalk_cli.motion.schedule import sigmas_karras

MAX_STEPS = 25


@dataclass(frozen=True)
class GenerateOptions:
    steps: int = 20  # sampler steps (at most MAX_STEPS)
    sampler: str = "dpmpp_2m"  # one of sampler.SAMPLERS
    strength: float = 1.0  # classifier-free guidance scale on the AU prompt (1 = as prompted)
    lip_strength: float = 1.0  # guidance scale on the audio: how strongly the motion follows the speech
    seed: int = 0  # starting noise: same inputs and seed -> same motion
    head_motion: float = 1.0  # scales head rotation and translation (0 = still head)
    blinks: bool = True  # False removes blinks (eyes close only where the prompt asks: AU43/AU45)
    overlap: int = 16  # frames shared by neighbouring windows
    calm_frames: int = 3  # frames easing out of rest at the start and into rest at the end
    silence_pad: int = 2  # frames of silence the model hears before the audio and after it (cut from the
    #                       result), so speech at the clip's very first or last frame is not pinned to rest
    prompt_ramp: float = 0.3  # seconds over which the AU prompt fades in at the start / out at the end
    max_batch: int = 16  # windows per model call (bounds memory)
    chunk: int = 1500  # frames sampled together (60 s at 25 fps); longer clips go chunk by chunk
    chunk_overlap: int = 32  # frames each chunk continues from the previous one (inpainted)
    lip_samples: int = 4  # the speech channels are the median of this many samples (seeds seed, seed + LIP_SEED_STRIDE, ...)
    threads: int | None = 1  # torch threads while sampling (1: the model is small, and extra threads
    #                          spin-wait badly on a busy CPU); None leaves torch's setting alone


def default_lip_strength(model: MotionModel) -> float:
    """The audio guidance scale the model's file recommends (meta "lip_strength", chosen by evaluation
    when it was trained), or 1 (plain conditional) for files without one or without a null audio."""
    if not getattr(model, "audio_guidance", True):
        return 1.0
    return float(getattr(model, "meta", {}).get("lip_strength", 1.0))


def au_frames(times: Tensor, au: Tensor, num_frames: int, fps: float) -> Tensor:
    """AU keyframes (times [K] s, increasing; au [K, A]) -> per-frame AU prompt [T, A], linearly
    interpolated, held before the first and after the last keyframe. Frame k is at k / fps."""
    if times.dim() != 1 or au.dim() != 2 or au.shape[0] != times.shape[0] or times.shape[0] == 0:
        raise ValueError(f"expected times [K] and au [K, A], got {tuple(times.shape)} and {tuple(au.shape)}")
    t = torch.arange(num_frames, dtype=torch.float32) / fps
    times = times.float()
    right = torch.searchsorted(times, t, right=True).clamp(1, max(1, len(times) - 1))
    if len(times) == 1:
        return au[:1].float().expand(num_frames, -1).clone()
    left = right - 1
    span = (times[right] - times[left]).clamp(min=1e-6)
    w = ((t - times[left]) / span).clamp(0.0, 1.0)[:, None]
    return (au[left].float() * (1 - w) + au[right].float() * w).clamp(0.0, 1.0)


def edge_envelope(num_frames: int, frames: float) -> Tensor:
    """[T] in [0, 1]: 0 at the first and last frame, rising (smoothstep) to 1 over `frames` frames."""
    k = torch.arange(num_frames, dtype=torch.float32)
    dist = torch.minimum(k, num_frames - 1 - k) / max(frames, 1e-6)
    x = dist.clamp(0.0, 1.0)
    return x * x * (3 - 2 * x)


def chunk_spans(num_frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """[start, stop) of the chunks a clip is sampled in: one for a clip of at most `chunk` frames, else
    chunks of `chunk` frames, each starting `overlap` frames before the previous one ends (the last
    one shorter, but at least `overlap` + 1 frames: a tail that short joins the chunk before)."""
    if chunk <= overlap:
        raise ValueError(f"chunk ({chunk}) must be longer than its overlap ({overlap})")
    spans, start = [], 0
    while True:
        stop = min(num_frames, start + chunk)
        if num_frames - stop <= overlap:  # what would be left is no longer than an overlap: take it now
            stop = num_frames
        spans.append((start, stop))
        if stop == num_frames:
            return spans
        start = stop - overlap


def window_starts(num_frames: int, window: int, overlap: int) -> list[int]:
    """Start frames of the windows covering [0, T): stride window - overlap, the last flush with the end."""
    if num_frames <= window:
        return [0]
    stride = max(1, window - overlap)
    starts = list(range(0, num_frames - window, stride))
    return starts + [num_frames - window]


class WindowedDenoiser:
    """A denoiser over whole clips made of a windowed one: `(x [B, T, D], sigma [B], audio [B, T, F],
    au [B, T, A], drop_au [B], drop_audio [B]) -> x0 [B, T, D]`; windows blended with ramps across the overlaps."""

    def __init__(self, model: MotionModel, window: int, overlap: int, max_batch: int = 16):
        if not 0 <= overlap < window:
            raise ValueError(f"overlap {overlap} must be in [0, window {window})")
        self.model, self.window, self.overlap, self.max_batch = model, window, overlap, max_batch

    def weights(self, length: int) -> Tensor:
        k = torch.arange(length, dtype=torch.float32)
        return (torch.minimum(k + 1, length - k) / (self.overlap + 1)).clamp(max=1.0)

    def __call__(self, x: Tensor, sigma: Tensor, audio: Tensor, au: Tensor, drop_au: Tensor | None = None,
                 drop_audio: Tensor | None = None) -> Tensor:
        """Drop flags given are cut per window and passed on; flags not given are not passed (so the
        wrapped denoiser may be a CFGDenoiser, which sets its own)."""
        B, T, _ = x.shape
        length = min(T, self.window)
        starts = window_starts(T, self.window, self.overlap)
        jobs = [(b, s) for b in range(B) for s in starts]
        total = torch.zeros_like(x)
        norm = x.new_zeros(B, T, 1)
        w = self.weights(length).to(x)[:, None]
        for j0 in range(0, len(jobs), self.max_batch):
            chunk = jobs[j0 : j0 + self.max_batch]
            def cut(t: Tensor) -> Tensor:
                return torch.stack([t[b, s : s + length] for b, s in chunk])
            idx = torch.tensor([b for b, _ in chunk])
            flags = {name: f[idx] for name, f in (("drop_au", drop_au), ("drop_audio", drop_audio)) if f is not None}
            out = self.model(cut(x), sigma[idx], audio=cut(audio), au=cut(au), **flags)
            for (b, s), o in zip(chunk, out):
                total[b, s : s + length] += o * w
                norm[b, s : s + length] += w
        return total / norm


def feature_config(model: MotionModel) -> FeatureConfig:
    """The audio front end the model was trained with."""
    return FeatureConfig(**model.config.feature) if model.config.feature else FeatureConfig()


@torch.no_grad()
def generate_motion(
    model: MotionModel,
    wave: Tensor,  # [N] mono audio at the model's sample rate (audio.features.load_audio)
    au: Tensor,  # [T, 24] per-frame AU prompt (au_frames), or [24] for a constant prompt
    options: GenerateOptions = GenerateOptions(),
    num_frames: int | None = None,  # default: the frames covering the audio
    callback: Callable[[dict], None] | None = None,
) -> dict[str, Tensor]:
    """Sample motion for the audio: {"arkit": [T, 52], "head_rotation": [T, 3], "head_translation":
    [T, 3], "gaze": [T, 2]} at the model's fps."""
    feature = feature_config(model)
    if num_frames is None:
        num_frames = frame_count(wave.shape[0] / feature.sample_rate, feature.fps)
    return generate_motion_from_features(model, audio_features(wave, num_frames, feature), au, options, callback)


def silence_features(feature: FeatureConfig, num_frames: int) -> Tensor:
    """[num_frames, feature.dim]: the features of digital silence (what a quiet lead-in sounds like):
    those of no audio at all, which audio_features pads with silence to the frames asked for."""
    return audio_features(torch.zeros(0), num_frames, feature)


SPEECH_CHANNELS = facs.SPEECH_CHANNELS  # of which lip_samples takes the median
LIP_SEED_STRIDE = 1_000_003  # seed offset of each extra lip sample (far from seed + 1, the next clip's seed)


@torch.no_grad()
def generate_motion_from_features(
    model: MotionModel,
    audio: Tensor,  # [T, D] audio features (audio.features.audio_features / file_features, feature_config(model))
    au: Tensor,  # [T, 24] per-frame AU prompt, or [24] for a constant prompt
    options: GenerateOptions = GenerateOptions(),
    callback: Callable[[dict], None] | None = None,
) -> dict[str, Tensor]:
    """generate_motion on features already computed (animate streams them from the file, so the wave
    is never held whole): the same motion for the same features.

    With options.lip_samples = n > 1 the clip is sampled n times and its speech channels
    become the per-frame median of the n samples (the mouth is what the audio decides, so what varies
    between samples there is noise); blinks, brows, head and gaze stay those of the first sample, so
    the face stays as lively. The first sample is the one lip_samples = 1 gives."""
    if options.lip_samples < 1:
        raise ValueError(f"lip_samples must be at least 1, got {options.lip_samples}")
    seeds = [int(options.seed) + k * LIP_SEED_STRIDE for k in range(options.lip_samples)]
    # one sample at a time (on a CPU a batch of them all ran slower), keeping only the extra samples' speech channels
    motion = _sample_motion(model, audio, au, options, seeds[0], callback)
    if len(seeds) > 1:  # the median keeps a closure most samples make, where a mean would soften it
        T = motion["arkit"].shape[0]
        speech = torch.empty(len(seeds), T, SPEECH_CHANNELS.stop - SPEECH_CHANNELS.start)
        speech[0] = motion["arkit"][:, SPEECH_CHANNELS]
        for k, seed in enumerate(seeds[1:], start=1):  # a copy of the channels, so the sample's other arrays go
            speech[k] = _sample_motion(model, audio, au, options, seed, callback)["arkit"][:, SPEECH_CHANNELS]
        for start in range(0, T, options.chunk):  # a chunk at a time: the sort's temporaries stay small
            motion["arkit"][start : start + options.chunk, SPEECH_CHANNELS] = median_of_samples(speech[:, start : start + options.chunk])
    return motion


def median_of_samples(samples: Tensor) -> Tensor:
    """Per-element median over the first axis: [n, ...] -> [...] (the mean of the two middle values
    for even n), by sorting."""
    ordered = samples.sort(dim=0).values
    n = samples.shape[0]
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def _sample_motion(model: MotionModel, audio: Tensor, au: Tensor, options: GenerateOptions, seed: int,
                   callback: Callable[[dict], None] | None) -> dict[str, Tensor]:
    """One sample of the clip's motion, its starting noise from `seed` (options.seed is not read)."""
    config = model.config
    feature = feature_config(model)
    if audio.dim() != 2 or audio.shape[1] != feature.dim:
        raise ValueError(f"audio features must be [T, {feature.dim}], got {tuple(audio.shape)}")
    if not 1 <= options.steps <= MAX_STEPS:
        raise ValueError(f"steps must be 1 to {MAX_STEPS}, got {options.steps}")
    if options.lip_strength != 1.0 and not getattr(model, "audio_guidance", True):
        raise ValueError("this motion model was trained without audio dropout, so it cannot be guided on its audio: "
                         "use lip strength 1, or retrain it (make weights-motion)")
    if options.sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {options.sampler!r}: one of {', '.join(SAMPLERS)}")
    if options.silence_pad < 0:
        raise ValueError(f"silence_pad must be 0 or more frames, got {options.silence_pad}")
    clip_frames = audio.shape[0]
    if au.dim() == 1:
        au = au[None].expand(clip_frames, -1)
    if au.shape != (clip_frames, facs.NUM_AUS):
        raise ValueError(f"AU prompt must be [{clip_frames}, {facs.NUM_AUS}], got {tuple(au.shape)}")
    pad = options.silence_pad
    if pad:  # silence either side (the AU prompt held), sampled with the clip and cut off at the end
        silence = silence_features(feature, pad).to(audio)
        audio = torch.cat([silence, audio, silence])
        au = torch.cat([au[:1].expand(pad, -1), au, au[-1:].expand(pad, -1)])
    T = audio.shape[0]
    device = next(model.parameters()).device
    audio = audio.to(device)[None]
    prompt = (au.float() * edge_envelope(T, options.prompt_ramp * feature.fps)[:, None]).to(device)[None]

    # guidance inside each window (linear, so the same as guiding the whole clip): its extra passes
    # then cost memory per window batch, not per clip
    guided = WindowedDenoiser(CFGDenoiser(model, options.strength, options.lip_strength), config.window,
                              min(options.overlap, config.window - 1), options.max_batch)
    rest = model.normalise(torch.zeros(config.motion_dim, device=device))  # the calm face in model space
    generator = torch.Generator().manual_seed(int(seed))
    sigmas = sigmas_karras(options.steps, config.sigma_min, config.sigma_max).to(device)
    x = torch.empty(1, T, config.motion_dim, device=device)  # the clip in model space, filled chunk by chunk
    threads = torch.get_num_threads()
    if options.threads is not None and device.type == "cpu":
        torch.set_num_threads(options.threads)
    try:
        for start, stop in chunk_spans(T, options.chunk, options.chunk_overlap):
            # known frames, inpainted (their x0 estimate replaced at every step): the rest pose at the
            # clip's ends, and where a chunk overlaps the previous one, that chunk's result
            n = stop - start
            known = torch.zeros(n, dtype=torch.bool, device=device)
            target = rest.expand(1, n, -1).clone()
            if start == 0:
                known[0] = True
            else:
                lead = min(options.chunk_overlap, n)
                known[:lead] = True
                target[0, :lead] = x[0, start : start + lead]
            if stop == T:
                known[-1] = True

            def denoiser(xc: Tensor, sigma: Tensor, known=known, target=target, **kwargs) -> Tensor:
                return torch.where(known[None, :, None], target, guided(xc, sigma, **kwargs))

            noise = torch.randn(1, n, config.motion_dim, generator=generator).to(device) * sigmas[0]
            cond = {"audio": audio[:, start:stop], "au": prompt[:, start:stop]}
            x[:, start:stop] = SAMPLERS[options.sampler](denoiser, noise, sigmas, cond, callback=callback)
    finally:
        torch.set_num_threads(threads)
    raw = model.denormalise(x[0]).cpu()
    # ease into rest (all zeros) at the ends: the mouth at the padded clip's ends (so it may already be
    # moving when the audio starts mid-word), head, eyes and brows at the clip's own (a calm first frame)
    envelope = edge_envelope(clip_frames, options.calm_frames)[:, None].repeat(1, raw.shape[1])
    mouth = slice(ARKIT.start + SPEECH_CHANNELS.start, ARKIT.start + SPEECH_CHANNELS.stop)
    envelope[:, mouth] = edge_envelope(T, options.calm_frames)[pad : pad + clip_frames, None]
    raw = raw[pad : pad + clip_frames] * envelope
    prompt = prompt[:, pad : pad + clip_frames]
    raw[:, ROTATION] *= options.head_motion
    raw[:, TRANSLATION] *= options.head_motion
    motion = unpack_motion(raw)
    if not options.blinks:
        prompted = facs.au_to_arkit(prompt[0].cpu())
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            i = facs.ARKIT_INDEX[name]
            motion["arkit"][:, i] = torch.minimum(motion["arkit"][:, i], prompted[:, i])
    return motion
