"""Train the motion denoiser on the corpus, on CPU, within a time budget; resumable.

    python -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --minutes 30
    python -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors --minutes 30 \
        --resume build/motion-train.ckpt

Objective (EDM preconditioning, schedule.edm_scalings): the network's output F is trained toward
(x0 - c_skip x) / c_out, the v-objective for data of std sigma_data, on random windows of the train
split with log-normal noise levels; plus an AU loss: the AU read-out (facs.arkit_to_au) of the
denoised estimate follows the prompt on the AUs speech does not need (AU_LOSS_AUS), weighted toward
low noise levels where the estimate is sharp. The AU prompt is dropped (learned null) with
probability p_uncond for classifier-free guidance, and the audio (learned null) with probability
p_uncond_audio for guidance on the audio (guidance.py). Weights are an exponential moving average.

Optional third loss (`--adv-weight`, off by default): an adversarial one. A small audio-conditioned
patch critic (discriminator.py) learns to tell corpus motion windows from the denoiser's estimates
(least squares), and the denoiser's estimates are pulled toward what the critic calls real,
weighted like the AU loss toward low noise levels. Meant to sharpen lip closures and keep motion
lively where the v-loss alone averages; whether it helps is measured by evaluate.py.

Options measured (2026-11-25; fine-tunes from the checkpoint of the model then shipped, without the
adversarial loss; that model: real speech r 0.673, held-out TTS r 0.761, closure 80.8 %, all sampled
without generate's silence pad): `--word-clips 0.2` real 0.683; `--rest-starts 0.2` real 0.686, TTS
0.758, closure 77 % (22 min more: 0.688, 0.760, 79 %; with the adversarial loss: 0.683, 0.757, 78 %);
both 0.682, TTS 0.758, closure 78 %; `--extra-corpus build/corpus-recorded` (recorded.py) real
0.682, TTS 0.746, closure 77 %. Kept: rest starts, 25 + 22 + 40 min (the Makefile's weights-motion);
sampled with the silence pad: real 0.708, closure 88.6 %; TTS 0.821, closure 81.6 %.

The learning rate warms up over the first steps, then follows a cosine over this run's minutes
down to 10 %; a resumed run restarts that cosine (a warm restart) from the checkpoint's weights,
optimiser state and EMA. A checkpoint (`--checkpoint`, default build/motion-train.ckpt) is written
every few minutes and at the end; the weights file gets the EMA model, its config and the run's
loss history in its metadata.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.audio.features import FeatureConfig, audio_features
from emotalk_cli.errors import EmotalkError
from emotalk_cli.motion.augment import spectral_augment
from emotalk_cli.motion.denoiser import MotionModel, MotionModelConfig, pack_motion, save_model
from emotalk_cli.motion.discriminator import CriticConfig, MotionCritic, critic_loss, generator_loss
from emotalk_cli.motion.schedule import edm_scalings, training_sigmas

#: AUs the read-out loss holds to the prompt: emotion AUs that speech does not drive (brows, lids,
#: cheeks, nose, dimple, lip-corner depressor). Blink/eyes-closed (AU43/45) are left to the blinks.
AU_LOSS_AUS: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU14", "AU15")


@dataclass
class Utterance:
    audio: Tensor  # [T, F] features
    motion: Tensor  # [T, 60] raw motion (the corpus' full motion)
    au: Tensor  # [T, 24] AU prompt
    mouth: Tensor  # [T, 52] clean viseme mouth track (lip-sync reference)
    viseme: Tensor  # [T] int viseme index
    record: dict
    wave: Tensor | None = None  # [N] audio at 16 kHz, kept only when asked (evaluation)


def load_corpus(folder: str | Path, split: str, feature: FeatureConfig = FeatureConfig(), limit: int | None = None,
                keep_audio: bool = False) -> list[Utterance]:
    """Every utterance of `split` ("train" or "eval") in a corpus folder, with audio features."""
    from emotalk_cli.motion.corpus import load_shard

    folder = Path(folder)
    shards = sorted(folder.glob(f"{split}-*.safetensors"))
    if not shards:
        raise EmotalkError(f"{folder}: no {split}-*.safetensors shards; make a corpus with "
                           "python -m emotalk_cli.motion.corpus --out build/corpus --sentences 2000")
    out: list[Utterance] = []
    for shard in shards:
        utterances, meta = load_shard(shard)
        if abs(float(meta["fps"]) - feature.fps) > 1e-6 or int(meta["sample_rate"]) != feature.sample_rate:
            raise EmotalkError(f"{shard}: corpus at {meta['fps']} fps / {meta['sample_rate']} Hz, the model wants "
                               f"{feature.fps} fps / {feature.sample_rate} Hz")
        for u in utterances:
            frames = u["arkit"].shape[0]
            out.append(Utterance(
                audio=audio_features(u["audio"], frames, feature),
                motion=pack_motion(u["arkit"], u["head_rotation"], u["head_translation"], u["gaze"]),
                au=u["au"].float(), mouth=u["mouth"].float(), viseme=u["viseme"].long(), record=u["record"],
                wave=u["audio"] if keep_audio else None,
            ))
            if limit is not None and len(out) >= limit:
                return out
    return out


def motion_stats(utterances: list[Utterance]) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std [60] over all frames, std floored per channel group."""
    allm = torch.cat([u.motion for u in utterances])
    mean, std = allm.mean(0), allm.std(0)
    floor = torch.full_like(std, 0.02)  # ARKit weights
    floor[52:55], floor[55:58], floor[58:60] = 0.005, 0.0005, 0.005  # rad, m, rad
    return mean, torch.maximum(std, floor)


#: Word clips (TrainOptions.p_word_clip): short windows that start 0-2 frames before speech begins
#: after a silence, as in a recording trimmed tight around a word or two.
WORD_CLIP_FRAMES = (15, 40)


def speech_onsets(viseme: Tensor, silence: int) -> Tensor:
    """Frames [K] where speech starts after silence (or at frame 0): viseme [T] ints, `silence` its sil index."""
    spoken = viseme != silence
    before = torch.cat([torch.zeros(1, dtype=torch.bool), spoken[:-1]])
    return torch.nonzero(spoken & ~before).flatten()


def random_batch(utterances: list[Utterance], lengths: Tensor, batch: int, window: int, generator: torch.Generator,
                 p_word_clip: float = 0.0, p_rest_start: float = 0.0):
    """Random windows: audio [B, W, F], motion [B, W, 60], au [B, W, 24], pad [B, W] (True = padding).
    With probability `p_word_clip` a window is a word clip instead: 15-40 frames from just before a
    speech onset (the rest padding). With probability `p_rest_start` (of the other windows) a window
    is a rest start: it starts on a spoken frame and its first frame's motion is the rest pose (all
    zeros), which is what sampling makes of a clip that starts mid-speech (generate pins its first
    frame to rest): the model learns to open the mouth from there at once."""
    from emotalk_cli.motion.visemes import VISEME_INDEX

    picks = torch.multinomial(lengths.float().clamp(max=window * 2), batch, replacement=True, generator=generator)
    F = utterances[0].audio.shape[1]
    audio, motion, au = torch.zeros(batch, window, F), torch.zeros(batch, window, 60), torch.zeros(batch, window, 24)
    pad = torch.ones(batch, window, dtype=torch.bool)
    clips = (torch.rand(batch, generator=generator) < p_word_clip).tolist() if p_word_clip > 0 else [False] * batch
    rests = (torch.rand(batch, generator=generator) < p_rest_start).tolist() if p_rest_start > 0 else [False] * batch
    for b, i in enumerate(picks.tolist()):
        u = utterances[i]
        T = u.motion.shape[0]
        onsets = speech_onsets(u.viseme, VISEME_INDEX["sil"]) if clips[b] else None
        spoken = torch.nonzero(u.viseme[: max(1, T - 8)] != VISEME_INDEX["sil"]).flatten() if rests[b] and not clips[b] else None
        rest_start = spoken is not None and len(spoken) > 0
        if rest_start:
            start = int(spoken[int(torch.randint(0, len(spoken), (1,), generator=generator))])
            n = min(window, T - start)
        elif onsets is not None and len(onsets):
            onset = int(onsets[int(torch.randint(0, len(onsets), (1,), generator=generator))])
            start = max(0, onset - int(torch.randint(0, 3, (1,), generator=generator)))
            n = min(window, T - start, int(torch.randint(WORD_CLIP_FRAMES[0], WORD_CLIP_FRAMES[1] + 1, (1,), generator=generator)))
        else:
            start = int(torch.randint(0, max(1, T - window + 1), (1,), generator=generator))
            n = min(window, T - start)
        audio[b, :n], motion[b, :n], au[b, :n] = u.audio[start : start + n], u.motion[start : start + n], u.au[start : start + n]
        if rest_start:
            motion[b, 0] = 0.0  # the rest pose
        audio[b, n:] = -1.5  # silence
        pad[b, :n] = False
    return audio, motion, au, pad


#: The speech channels (facs.SPEECH_CHANNELS): weighted by TrainOptions.mouth_weight in the v-loss,
#: since lip sync is what the audio must decide.
MOUTH = facs.SPEECH_CHANNELS


def channel_weights(mouth_weight: float, dim: int = 60) -> Tensor:
    """Per-channel v-loss weights [dim], mean 1."""
    w = torch.ones(dim)
    w[MOUTH] = mouth_weight
    return w / w.mean()


def losses(model: MotionModel, audio, motion, au, pad, sigma, noise, drop, au_weight: float,
           mouth_weight: float = 1.0, return_denoised: bool = False, drop_audio: Tensor | None = None):
    """(v-objective loss, AU read-out loss), both means over the real frames; with
    `return_denoised`, also the denoised estimate [B, W, 60] (normalised)."""
    x0 = model.normalise(motion)
    x = x0 + noise * sigma[:, None, None]
    c_skip, c_out, _, _ = (s[:, None, None] for s in edm_scalings(sigma, model.config.sigma_data))
    denoised, f = model(x, sigma, audio=audio, au=au, drop_au=drop, pad_mask=pad, return_f=True, drop_audio=drop_audio)
    target = (x0 - c_skip * x) / c_out
    real = (~pad).float()[..., None]
    main = ((f - target) ** 2 * real * channel_weights(mouth_weight, f.shape[-1])).sum() / (real.sum() * f.shape[-1])
    arkit = model.denormalise(denoised)[..., :52].clamp(0, 1)
    index = [facs.AU_INDEX[n] for n in AU_LOSS_AUS]
    readout = facs.arkit_to_au(arkit)[..., index]
    w = (1.0 / (1.0 + sigma**2))[:, None, None] * (~drop).float()[:, None, None] * real
    au_loss = (((readout - au[..., index]) ** 2) * w).sum() / (real.sum() * len(index))
    if return_denoised:
        return main, au_weight * au_loss, denoised
    return main, au_weight * au_loss


def adversarial_step(critic: MotionCritic, critic_opt: torch.optim.Optimizer, model: MotionModel, motion: Tensor,
                     denoised: Tensor, audio: Tensor, pad: Tensor, sigma: Tensor) -> tuple[float, Tensor]:
    """One critic update on corpus motion vs the detached estimates, then the denoiser's generator loss
    against the updated critic: (critic loss, generator loss with grad). motion [B, W, 60] raw,
    denoised [B, W, 60] normalised, audio [B, W, F], pad [B, W], sigma [B]; the generator term is
    weighted per window by 1 / (1 + sigma^2), like the AU loss."""
    c_loss = critic_loss(critic(model.normalise(motion), audio, pad), critic(denoised.detach(), audio, pad))
    critic_opt.zero_grad(set_to_none=True)
    c_loss.backward()
    critic_opt.step()
    for p in critic.parameters():
        p.requires_grad_(False)
    g_loss = generator_loss(critic(denoised, audio, pad), 1.0 / (1.0 + sigma**2))
    for p in critic.parameters():
        p.requires_grad_(True)
    return float(c_loss.detach()), g_loss


@dataclass(frozen=True)
class TrainOptions:
    minutes: float = 30.0  # wall-clock budget of this run
    batch: int = 32  # windows per step
    lr: float = 1e-3  # peak learning rate (AdamW)
    warmup: int = 300  # steps of linear warm-up (first run only)
    weight_decay: float = 0.01
    ema: float = 0.999  # EMA decay of the saved weights
    p_uncond: float = 0.15  # AU prompt dropout for classifier-free guidance
    p_uncond_audio: float = 0.1  # audio dropout for guidance on the audio
    au_weight: float = 1.0  # weight of the AU read-out loss
    mouth_weight: float = 1.0  # weight of the mouth channels in the v-loss relative to the others
    p_mean: float = -1.0  # log-normal training sigma: mean of log sigma
    p_std: float = 1.2  # and its std
    checkpoint_minutes: float = 3.0  # checkpoint this often
    seed: int = 0
    threads: int = 1  # torch threads: 1 is fastest on a busy 2-core machine
    adv_weight: float = 0.0  # weight of the adversarial loss (0: no critic)
    critic_lr: float = 2e-4  # the critic's learning rate (AdamW, betas 0.5 / 0.9)
    lip_strength: float = 1.0  # audio guidance scale recorded in the weights as the default for sampling
    spec_augment: float = 0.0  # probability of the band warp and of the equaliser per window (augment.spectral_augment; 0 = off)
    spec_mask: float = 0.0  # probability of the band mask per window (when spec_augment > 0)
    p_word_clip: float = 0.0  # probability that a training window is a word clip (random_batch; 0 = off)
    p_rest_start: float = 0.0  # probability that a training window starts mid-speech from the rest pose (random_batch; 0 = off)


def train(corpus: Path, out: Path, options: TrainOptions, config: MotionModelConfig, resume: Path | None,
          checkpoint: Path, command: str = "", eval_limit: int = 64, extra_corpora: tuple[Path, ...] = ()) -> dict:
    """Train (or resume) within options.minutes; `extra_corpora` add their train utterances (their eval
    split, if any, is not used: the held-out voices are `corpus`'s)."""
    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    feature = FeatureConfig(**config.feature) if config.feature else FeatureConfig()
    started = time.monotonic()
    train_set = load_corpus(corpus, "train", feature)
    for extra in extra_corpora:
        train_set += load_corpus(extra, "train", feature)
    eval_set = load_corpus(corpus, "eval", feature, limit=eval_limit)
    log(f"corpus: {len(train_set)} train / {len(eval_set)} eval utterances, "
        f"{sum(u.motion.shape[0] for u in train_set) / feature.fps / 60:.1f} min of train speech, "
        f"loaded in {time.monotonic() - started:.0f} s")
    state = None
    if resume is not None:
        state = torch.load(resume, map_location="cpu", weights_only=False)
        config = MotionModelConfig(**state["config"])
        mean, std = state["mean"], state["std"]
    else:
        config = replace(config, feature=asdict(feature), audio_dim=feature.dim)
        mean, std = motion_stats(train_set)
    model = MotionModel(config, mean, std)
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    step, history, total_minutes = 0, [], 0.0
    critic = critic_opt = None
    if options.adv_weight > 0:
        critic = MotionCritic(CriticConfig(motion_dim=config.motion_dim, audio_dim=config.audio_dim))
        critic_opt = torch.optim.AdamW(critic.parameters(), lr=options.critic_lr, betas=(0.5, 0.9))
    warm_from = 0  # the step the learning-rate warm-up counts from
    if state is not None:
        step, history, total_minutes = state["step"], state["history"], state["minutes"]
        if "null_audio" in state["model"]:
            opt.load_state_dict(state["opt"])
        else:  # a checkpoint from before audio guidance: new null embedding at 0, fresh optimiser, warm up again
            for key in ("model", "ema"):
                state[key]["null_audio"] = torch.zeros(config.width)
            warm_from = step
            log("checkpoint has no null audio embedding: starting it at 0 with a fresh optimiser")
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        if critic is not None and state.get("critic") is not None:
            critic.load_state_dict(state["critic"])
            critic_opt.load_state_dict(state["critic_opt"])
        log(f"resumed from {resume} at step {step} ({total_minutes:.1f} min trained)")
    if critic is not None:
        log(f"adversarial loss on: weight {options.adv_weight}, critic {sum(p.numel() for p in critic.parameters()) / 1e6:.2f} M parameters")
    log(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, window {config.window} frames")
    g = torch.Generator().manual_seed(options.seed + step)
    lengths = torch.tensor([u.motion.shape[0] for u in train_set])
    eval_lengths = torch.tensor([u.motion.shape[0] for u in eval_set])
    eg = torch.Generator().manual_seed(1234)
    eval_batch = random_batch(eval_set, eval_lengths, 64, config.window, eg)
    eval_noise = (torch.randn(64, config.window, config.motion_dim, generator=eg),
                  training_sigmas(64, options.p_mean, options.p_std, eg))

    def evaluate() -> float:
        with torch.no_grad():
            main, au_l = losses(ema, *eval_batch, eval_noise[1], eval_noise[0], torch.zeros(64, dtype=torch.bool), options.au_weight)
        return float(main + au_l)

    budget = options.minutes * 60
    run_start = time.monotonic()
    last_ckpt = last_log = run_start
    first_step = step
    window_loss: list[float] = []
    window_adv: list[tuple[float, float]] = []
    model.train()
    while True:
        elapsed = time.monotonic() - run_start
        if elapsed >= budget:
            break
        progress = elapsed / budget
        lr = options.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        if step - warm_from < options.warmup:
            lr *= (step - warm_from + 1) / options.warmup
        for group in opt.param_groups:
            group["lr"] = lr
        audio, motion, au, pad = random_batch(train_set, lengths, options.batch, config.window, g, options.p_word_clip,
                                             options.p_rest_start)
        if options.spec_augment > 0:
            audio = spectral_augment(audio, feature.n_mels, g, p=options.spec_augment, p_mask=options.spec_mask,
                                     range_db=feature.range_db)
        sigma = training_sigmas(options.batch, options.p_mean, options.p_std, g)
        noise = torch.randn(motion.shape, generator=g)
        drop = torch.rand(options.batch, generator=g) < options.p_uncond
        drop_audio = torch.rand(options.batch, generator=g) < options.p_uncond_audio
        main, au_l, denoised = losses(model, audio, motion, au, pad, sigma, noise, drop, options.au_weight,
                                      options.mouth_weight, return_denoised=True, drop_audio=drop_audio)
        loss = main + au_l
        if critic is not None:
            c_loss, g_loss = adversarial_step(critic, critic_opt, model, motion, denoised, audio, pad, sigma)
            loss = loss + options.adv_weight * g_loss
            window_adv.append((c_loss, float(g_loss.detach())))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        with torch.no_grad():
            decay = min(options.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        window_loss.append(float(loss.detach()))
        now = time.monotonic()
        if now - last_log >= 60 or now - run_start >= budget:
            entry = {"step": step, "minutes": round(total_minutes + (now - run_start) / 60, 2),
                     "train_loss": round(sum(window_loss) / len(window_loss), 4), "eval_loss": round(evaluate(), 4),
                     "lr": round(lr, 6)}
            if window_adv:
                entry["critic_loss"] = round(sum(c for c, _ in window_adv) / len(window_adv), 4)
                entry["adv_loss"] = round(sum(g for _, g in window_adv) / len(window_adv), 4)
            history.append(entry)
            window_loss, window_adv = [], []
            last_log = now
            adv = f"  critic {entry['critic_loss']:.3f}  adv {entry['adv_loss']:.3f}" if "adv_loss" in entry else ""
            log(f"step {step}  {entry['minutes']:.1f} min  train {entry['train_loss']:.4f}  eval {entry['eval_loss']:.4f}{adv}  "
                f"({(step - first_step) / (now - run_start):.1f} steps/s)")
        if now - last_ckpt >= options.checkpoint_minutes * 60:
            _checkpoint(checkpoint, model, ema, opt, step, history, total_minutes + (now - run_start) / 60, config, mean, std,
                        critic, critic_opt)
            last_ckpt = now
    minutes = total_minutes + (time.monotonic() - run_start) / 60
    _checkpoint(checkpoint, model, ema, opt, step, history, minutes, config, mean, std, critic, critic_opt)
    meta = {"command": command, "steps": step, "minutes": round(minutes, 1), "corpus": str(corpus),
            "extra_corpora": [str(c) for c in extra_corpora],
            "train_utterances": len(train_set), "options": asdict(options), "history": history[-40:],
            "lip_strength": options.lip_strength}
    save_model(out, ema, meta)
    log(f"wrote {out} (step {step}, {minutes:.1f} min trained); checkpoint {checkpoint}")
    return meta


def _checkpoint(path: Path, model, ema, opt, step, history, minutes, config, mean, std, critic=None, critic_opt=None) -> None:
    from emotalk_cli.artifacts import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as temp:
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                    "history": history, "minutes": minutes, "config": asdict(config), "mean": mean, "std": std,
                    "critic": None if critic is None else critic.state_dict(),
                    "critic_opt": None if critic_opt is None else critic_opt.state_dict()}, temp)


def log(message: str) -> None:
    print(f"train: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    d, c = TrainOptions(), MotionModelConfig()
    parser = argparse.ArgumentParser(prog="python -m emotalk_cli.motion.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder (python -m emotalk_cli.motion.corpus)")
    parser.add_argument("--extra-corpus", type=Path, action="append", default=[],
                        help="another corpus folder whose train utterances join the training set (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.safetensors)")
    parser.add_argument("--minutes", type=float, default=d.minutes, help=f"wall-clock budget (default {d.minutes:g})")
    parser.add_argument("--resume", type=Path, default=None, help="continue from a checkpoint")
    parser.add_argument("--checkpoint", type=Path, default=Path("build/motion-train.ckpt"), help="checkpoint path")
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--mouth-weight", type=float, default=d.mouth_weight, help="v-loss weight of the mouth channels")
    parser.add_argument("--width", type=int, default=c.width)
    parser.add_argument("--layers", type=int, default=c.layers)
    parser.add_argument("--window", type=int, default=c.window)
    parser.add_argument("--threads", type=int, default=d.threads)
    parser.add_argument("--adv-weight", type=float, default=d.adv_weight, help="adversarial loss weight (0 = off)")
    parser.add_argument("--critic-lr", type=float, default=d.critic_lr)
    parser.add_argument("--lip-strength", type=float, default=d.lip_strength,
                        help="audio guidance scale to record as the sampling default (choose it with evaluate.py)")
    parser.add_argument("--spec-augment", type=float, default=d.spec_augment,
                        help="probability of the band warp and of the equaliser on the features, per window; 0 = off")
    parser.add_argument("--spec-mask", type=float, default=d.spec_mask, help="probability of a band mask, per window")
    parser.add_argument("--word-clips", type=float, default=d.p_word_clip,
                        help="probability that a window is a short clip starting at a speech onset; 0 = off")
    parser.add_argument("--rest-starts", type=float, default=d.p_rest_start,
                        help="probability that a window starts mid-speech from the rest pose (as a clip that starts "
                             "with speech is sampled); 0 = off")
    parser.add_argument("--seed", type=int, default=d.seed)
    args = parser.parse_args(argv)
    options = replace(d, minutes=args.minutes, batch=args.batch, lr=args.lr, threads=args.threads, seed=args.seed,
                      mouth_weight=args.mouth_weight, adv_weight=args.adv_weight, critic_lr=args.critic_lr,
                      lip_strength=args.lip_strength, spec_augment=args.spec_augment, spec_mask=args.spec_mask,
                      p_word_clip=args.word_clips, p_rest_start=args.rest_starts)
    config = replace(c, width=args.width, layers=args.layers, window=args.window)
    command = "python -m emotalk_cli.motion.train " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        train(args.corpus, args.out, options, config, args.resume, args.checkpoint, command,
              extra_corpora=tuple(args.extra_corpus))
    except EmotalkError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
