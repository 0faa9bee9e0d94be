import pytest
import torch

from emotalk_cli import facs


def test_lists_are_complete_and_unique():
    assert len(facs.ARKIT_NAMES) == len(set(facs.ARKIT_NAMES)) == 52
    for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26, 27, 28, 43, 45):
        assert f"AU{n}" in facs.AU_INDEX


@pytest.mark.parametrize("au", [a for a in facs.AU_NAMES if a not in ("AU23", "AU24", "AU26", "AU27", "AU43", "AU45", "AU25", "AU28")])
def test_single_au_reads_back_exactly(au):
    vector = facs.au_vector({au: 0.7})
    back = facs.arkit_to_au(facs.au_to_arkit(vector))
    assert back[facs.AU_INDEX[au]] == pytest.approx(0.7, abs=1e-5)


def test_prototypes_map_to_the_right_shapes():
    smile = facs.au_to_arkit(facs.prototype_vector("happiness"))
    assert smile[facs.ARKIT_INDEX["mouthSmileLeft"]] == 1.0
    assert smile[facs.ARKIT_INDEX["cheekSquintRight"]] == 1.0
    assert smile[facs.ARKIT_INDEX["browDownLeft"]] == 0.0
    anger = facs.au_to_arkit(facs.prototype_vector("anger"))
    assert anger[facs.ARKIT_INDEX["browDownLeft"]] == 1.0
    assert anger[facs.ARKIT_INDEX["mouthPressLeft"]] > 0  # AU23 approximated by lip press


def test_names_are_parsed_and_checked():
    assert facs.normalize_au_name("au12") == "AU12"
    assert facs.normalize_au_name("12") == "AU12"
    with pytest.raises(ValueError, match="unknown action unit"):
        facs.normalize_au_name("AU99")
    assert facs.arkit_vector({"JAWOPEN": 1})[facs.ARKIT_INDEX["jawOpen"]] == 1
    with pytest.raises(ValueError, match="unknown ARKit"):
        facs.arkit_vector({"smile": 1})


def test_maps_clamp_and_batch():
    au = torch.ones(4, 3, facs.NUM_AUS)
    arkit = facs.au_to_arkit(au)
    assert arkit.shape == (4, 3, 52) and arkit.max() <= 1.0
    assert facs.arkit_to_au(arkit).shape == (4, 3, facs.NUM_AUS)
