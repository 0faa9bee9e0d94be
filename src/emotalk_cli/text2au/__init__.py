"""text2au: free-form emotion text -> FACS action-unit keyframes (the emotion controller).

    from emotalk_cli.text2au import load_model, text_to_keyframes
    model = load_model()                       # weights/text2au.safetensors + packaged MiniLM
    [k] = text_to_keyframes(model, ["calm at first, then furious"])
    k.times  # [K] seconds;  k.au  # [K, A] in [0, 1], columns facs.AU_NAMES

Modules: vocabulary (words, modifiers, idioms, the held-out split), corpus (training phrases and
labels from the EMFACS prototypes), lexicon (WordNet glosses read with each clause), encoder
(MiniLM in plain torch), model (the Transformer head, its file format), infer (clauses, batching),
train, evaluate.
"""

from emotalk_cli.text2au.infer import InferOptions, Keyframes, split_clauses, text_to_keyframes
from emotalk_cli.text2au.model import DEFAULT_WEIGHTS, Text2AU, Text2AUConfig, load_model

__all__ = [
    "DEFAULT_WEIGHTS", "InferOptions", "Keyframes", "Text2AU", "Text2AUConfig", "load_model", "split_clauses",
    "text_to_keyframes",
]
