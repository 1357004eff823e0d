"""Config values are validated from the dataclass annotations (pydantic): one line naming the key,
the value, what is expected and an example — for every option, not a hand-written check per key."""
from __future__ import annotations

import dataclasses

import pytest

from artkg.kg.errors import InputError
from artkg.models.cloir import CloirConfig
from artkg.models.options import check_call_kwargs
from artkg.models.train_config import TrainConfig

BAD_TRAIN = [
    ({"lr": "fast"}, r"^lr in cfg\.json must be a valid number.*got 'fast'.*e\.g\. \"lr\": 0\.001$"),
    ({"epochs": "ten"}, r"^epochs in cfg\.json must be a valid integer.*'ten'"),
    ({"epochs": 0}, r"^epochs in cfg\.json must be greater than or equal to 1"),
    ({"batch_size": 2.5}, r"^batch_size in cfg\.json must be a valid integer"),
    ({"gnn_kwargs": 3}, r"^gnn_kwargs in cfg\.json must be a valid dictionary \(got 3\)"),
    ({"tasks": 5}, r"^tasks in cfg\.json"),
    ({"lr": -1}, r"^lr in cfg\.json must be greater than 0"),
    ({"weight_decay": -0.1}, r"^weight_decay in cfg\.json must be greater than or equal to 0"),
    ({"patience": -1}, r"^patience in cfg\.json"),
    ({"class_dropout": 1.0}, r"^class_dropout in cfg\.json must be less than 1"),
    ({"unseen_fraction": -0.2}, r"^unseen_fraction in cfg\.json"),
    ({"num_neighbors": [15, "x"]}, r"^num_neighbors\[1\] in cfg\.json must be a valid integer"),
    ({"grad_clip": 0}, r"^grad_clip in cfg\.json must be greater than 0"),
    ({"threads": 0}, r"^threads in cfg\.json"),
    ({"split": [0.7, 0.1]}, r"^split must be three fractions"),
    ({"split": "everything"}, r"^unknown split 'everything'"),
    ({"sampler": "magic"}, r"^unknown sampler 'magic'"),
]


@pytest.mark.parametrize("values,message", BAD_TRAIN, ids=[next(iter(v)) + "=" + repr(v[next(iter(v))])
                                                            for v, _ in BAD_TRAIN])
def test_train_config_values_are_checked_with_one_line_naming_the_key(values, message):
    with pytest.raises(InputError) as info:
        TrainConfig.from_dict(values, "cfg.json")
    assert "\n" not in str(info.value)
    assert info.match(message)


@pytest.mark.parametrize("values,key", [({"hops": 3}, "hops"), ({"k": [0, 5]}, r"k\[0\]"), ({"dropout": 1.5}, "dropout"),
                                        ({"margin": "wide"}, "margin"), ({"n": -4}, "n"),
                                        ({"test_fraction": 1.0}, "test_fraction")])
def test_cloir_config_values_are_checked(values, key):
    with pytest.raises(InputError, match=f"^{key} in c\\.json "):
        CloirConfig.from_dict(values, "c.json")


def test_valid_values_are_coerced_and_round_trip():
    config = TrainConfig.from_dict({"epochs": "3", "lr": "0.01", "tasks": "style", "grad_clip": None})
    assert config.epochs == 3 and isinstance(config.epochs, int) and config.lr == 0.01
    assert config.tasks == ["style"] and config.grad_clip is None
    assert TrainConfig.from_dict(config.to_dict()) == config
    for cls in (TrainConfig, CloirConfig):  # every default passes its own validation
        assert cls.from_dict(dataclasses.asdict(cls())) == cls()


def test_every_annotated_option_is_validated():
    """No option escapes: each TrainConfig field rejects a value of a wrong type (a dict where
    nothing takes one, a string where a dict or list is wanted)."""
    for f in dataclasses.fields(TrainConfig):
        default = getattr(TrainConfig(), f.name)
        if f.name in ("split",):  # Any: checked by its own rule (tested above)
            continue
        wrong = "not a dict" if isinstance(default, dict) or "dict" in str(f.type) else {"not": "this"}
        with pytest.raises(InputError, match=f"^{f.name}"):
            TrainConfig.from_dict({f.name: wrong}, "cfg.json")


def test_component_options_are_checked_against_the_class_annotations():
    class Component:
        def __init__(self, hidden: int = 128, dropout: float = 0.2, name: str = "x"):
            pass

    assert check_call_kwargs(Component, {"hidden": "64"}, "gnn_kwargs") == {"hidden": 64}
    with pytest.raises(InputError, match=r"^dropout in gnn_kwargs must be a valid number.*'lots'.*\"dropout\": 0\.2"):
        check_call_kwargs(Component, {"dropout": "lots"}, "gnn_kwargs")
