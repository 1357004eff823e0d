"""Training-time augmentation of signature triplets (`"augment": "copy"`): each transform by hand on
normalised tensors, the draws reproducible from the generator, and bad options stopped in one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from artkg.kg.errors import InputError
from artkg.models.signatures.augment import AUGMENTATIONS, DEFAULTS, CopyAugment, check, make_augment, normalisation


def _transform(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)):
    import torchvision.transforms as T

    return T.Compose([T.ToTensor(), T.Normalize(mean=list(mean), std=list(std))])


def _images(n=3, size=24, seed=0):
    """Normalised images whose raw pixels lie in [0, 1]."""
    mean, std = normalisation(_transform())
    raw = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return (raw - mean) / std, raw


def test_normalisation_is_read_from_the_transform_and_defaults_to_identity():
    mean, std = normalisation(_transform())
    assert torch.allclose(mean.flatten(), torch.tensor([0.5, 0.4, 0.3])) and mean.shape == (3, 1, 1)
    assert torch.allclose(std.flatten(), torch.tensor([0.2, 0.25, 0.3]))
    mean, std = normalisation(lambda image: image)
    assert torch.equal(mean, torch.zeros(3, 1, 1)) and torch.equal(std, torch.ones(3, 1, 1))


def test_no_transform_leaves_images_unchanged_and_a_sure_flip_mirrors():
    x, _ = _images()
    same = CopyAugment(_transform(), flip=0.0, crop_scale=(1.0, 1.0), hue=0.0)
    assert torch.equal(same(x, np.random.default_rng(0)), x)
    mirror = CopyAugment(_transform(), flip=1.0, crop_scale=(1.0, 1.0), hue=0.0)
    assert torch.equal(mirror(x, np.random.default_rng(0)), torch.flip(x, dims=[-1]))


def test_a_crop_keeps_the_size_and_shows_part_of_the_image():
    x = torch.zeros(1, 3, 32, 32)
    x[..., :16, :] = 1.0  # top half bright
    aug = CopyAugment(_transform(), flip=0.0, crop_scale=(0.3, 0.3), hue=0.0)
    outs = [aug(x, np.random.default_rng(s)) for s in range(20)]
    assert all(o.shape == x.shape for o in outs)
    # a 30 % crop is zoomed in: different draws show different shares of the bright half
    shares = {round(float((o > 0.5).float().mean()), 2) for o in outs}
    assert len(shares) > 3


def test_a_hue_shift_keeps_brightness_and_undoes_the_normalisation():
    x, raw = _images()
    aug = CopyAugment(_transform(), flip=0.0, crop_scale=(1.0, 1.0), hue=0.25)
    y = aug(x, np.random.default_rng(1))
    mean, std = aug.mean, aug.std
    back = y * std + mean  # raw pixels again: still in [0, 1], same value (max of RGB), other hues
    assert back.min() >= -1e-5 and back.max() <= 1 + 1e-5
    assert torch.allclose(back.max(dim=1).values, raw.max(dim=1).values, atol=1e-4)
    assert (back - raw).abs().mean() > 0.01


def test_draws_come_from_the_generator():
    x, _ = _images(n=4)
    aug = make_augment("copy", {}, _transform())
    a, b = aug(x, np.random.default_rng([5, 2])), aug(x, np.random.default_rng([5, 2]))
    assert torch.equal(a, b) and not torch.equal(a, aug(x, np.random.default_rng([6, 2])))


def test_options_are_checked():
    assert make_augment("none", {}, _transform()) is None and "copy" in AUGMENTATIONS
    assert check("copy", {}) == {**DEFAULTS, "crop_scale": [0.6, 1.0]}
    for name, kwargs, words in (("blur", {}, "not one of"), ("copy", {"rotate": 10}, "unknown options"),
                                ("copy", {"flip": 1.5}, "out of range"), ("copy", {"crop_scale": [0.9, 0.5]}, "out of range"),
                                ("copy", {"hue": 0.6}, "out of range")):
        with pytest.raises(InputError, match=words):
            check(name, kwargs)


def test_the_config_validates_augment():
    from artkg.models.signatures.config import SignatureConfig

    assert SignatureConfig().augment == "copy"
    with pytest.raises(InputError, match="augment"):
        SignatureConfig.coerce({"augment": "mixup"})
    with pytest.raises(InputError, match="unknown options"):
        SignatureConfig.coerce({"augment_kwargs": {"blur": 1}})
