"""The trainable image tower and the learning-rate schedule: bounded pixel cache, honest
``tower_trained``, per-group cosine minimum, and (where CUDA is present) every tower path on the GPU."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.models.encoders_image import EfficientNetLiteEncoder
from artkg.models.run import evaluate_run, load_run
from artkg.models.tower import PixelCache
from artkg.models.train import train
from artkg.models.train_config import TrainConfig
from artkg.models.train_loop import Trainer, warmup_cosine
from conftest import featured_world

LITE32 = {"image_size": 32}
TOWER_RUN = {"epochs": 2, "batch_size": 128, "threads": 1, "model": "image_head", "model_kwargs": {},
             "patience": 0, "image_tower": {"unfreeze_epoch": 2, "stages": 2, "lr_scale": 0.5}}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    return featured_world(small_world, tmp_path_factory, "tower", image_size=LITE32["image_size"])


# ------------------------------------------------------------------ the pixel cache
def test_pixel_cache_is_bounded_in_bytes_and_drops_the_least_recently_used(small_world):
    graph = load_graph(small_world)
    encoder = EfficientNetLiteEncoder(pretrained=False, image_size=32)
    one = 3 * 32 * 32 * 2  # a float16 image tensor
    cache = PixelCache(graph, encoder, max_bytes=3 * one)
    first = cache(torch.tensor([0, 1, 2]))
    assert first.shape == (3, 3, 32, 32) and first.dtype == torch.float32
    assert cache.bytes == 3 * one and list(cache.cache) == [0, 1, 2] and cache.decoded == 3
    cache(torch.tensor([0]))  # 0 is now the most recently used: 1 goes first
    cache(torch.tensor([3, 4]))
    assert list(cache.cache) == [0, 3, 4] and cache.bytes == 3 * one <= cache.max_bytes
    assert cache.decoded == 5  # 0 came from memory
    again = cache(torch.tensor([1]))  # dropped, so decoded again — to the same pixels
    assert cache.decoded == 6 and torch.equal(again[0], first[1])
    for nodes in (torch.arange(20), torch.arange(40, 10, -1)):
        cache(nodes)
        assert cache.bytes <= cache.max_bytes and len(cache.cache) == 3
    nothing = PixelCache(graph, encoder, max_bytes=0)
    assert nothing(torch.tensor([5, 5])).shape[0] == 2 and nothing.bytes == 0 and not nothing.cache


def test_pixel_cache_size_is_an_option(world):
    config = TrainConfig.from_dict({**TOWER_RUN, "image_tower": {"pixel_cache_mb": -1}})
    with pytest.raises(InputError, match="pixel_cache_mb"):
        train(world, config, progress=False)


# ------------------------------------------------------------------ what the run says it trained
def test_restoring_a_pre_unfreeze_epoch_records_an_untrained_tower(world, tmp_path, monkeypatch):
    scores = iter([0.9, 0.1])  # the best validation is epoch 1, before the tower is unfrozen at epoch 2
    monkeypatch.setattr(Trainer, "validation_score", lambda self: next(scores))
    pretrained = EfficientNetLiteEncoder(**LITE32).state_dict()
    result = train(world, TrainConfig.from_dict(TOWER_RUN), out=tmp_path / "run", progress=False)
    report = result.metrics["training"]["image_tower"]
    assert result.metrics["training"]["best_epoch"] == 1
    assert report == {"trained": False, "stages_trained": 0, "stages": 2, "parameters_trained": 0,
                      "unfreeze_epoch": 2, "best_epoch": 1}
    run = load_run(tmp_path / "run")
    assert run.config["tower_trained"] is False
    for name, value in run.model.image_tower.state_dict().items():  # the restored tower is the pretrained one
        assert torch.equal(value, pretrained[name]), name
    monkeypatch.undo()
    assert evaluate_run(tmp_path / "run", device="cpu")["matches_saved"]


def test_a_tower_kept_after_unfreezing_records_what_was_trained(world, tmp_path, monkeypatch):
    scores = iter([0.1, 0.9])
    monkeypatch.setattr(Trainer, "validation_score", lambda self: next(scores))
    result = train(world, TrainConfig.from_dict(TOWER_RUN), out=tmp_path / "run", progress=False)
    report = result.metrics["training"]["image_tower"]
    tower = result.model.image_tower
    assert report["trained"] and report["stages_trained"] == 1 and report["best_epoch"] == 2
    assert 0 < report["parameters_trained"] < sum(p.numel() for p in tower.parameters())
    assert load_run(tmp_path / "run").config["tower_trained"] is True
    monkeypatch.undo()
    assert evaluate_run(tmp_path / "run", device="cpu")["matches_saved"]  # eval reads pixels like training did


# ------------------------------------------------------------------ devices
def test_evaluation_sends_pixels_to_the_towers_device(small_world):
    """The device bug without a GPU: a tower on the ``meta`` device fails on CPU pixels (as a CUDA
    tower did at the first validation after unfreezing, and in `artkg eval`)."""
    from types import SimpleNamespace

    from artkg.models.classifier import Batch
    from artkg.models.tower import TowerSchedule

    tower = EfficientNetLiteEncoder(pretrained=False, image_size=32).to("meta")
    schedule = TowerSchedule(tower, SimpleNamespace(graph=load_graph(small_world)), {"unfreeze_epoch": 1})
    schedule.activate_all()
    batch = schedule.prepare(Batch(torch.arange(3), torch.zeros(3, 1280)), training=False)
    assert batch.features.device.type == "meta" and batch.features.shape == (3, 1280)
    training = schedule.prepare(Batch(torch.arange(3), torch.zeros(3, 1280)), training=True)
    assert training.to("meta").pixels.device.type == "meta"  # training batches move with Batch.to


# ------------------------------------------------------------------ the schedule
@pytest.mark.parametrize("warmup", [0, 3])
def test_cosine_schedule_ends_each_group_at_its_own_minimum(warmup):
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1e-4}], lr=1e-2)
    scheduler = warmup_cosine(optimizer, warmup, 20, min_lr_ratio=0.01)
    seen = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        seen.append([g["lr"] for g in optimizer.param_groups])
    assert seen[-1] == pytest.approx([1e-4, 1e-6], rel=1e-9)
    peak = max(range(len(seen)), key=lambda i: seen[i][0])
    assert seen[peak] == pytest.approx([1e-2, 1e-4], rel=1e-3)  # each group peaks at its own lr
    assert all(x[1] / x[0] == pytest.approx(1e-2) for x in seen)  # the ratio between groups is kept


# ------------------------------------------------------------------ on the GPU
@pytest.mark.gpu
def test_tower_run_trains_evaluates_and_predicts_on_cuda(world, tmp_path):
    from artkg.models.run import predict_images

    # Unfrozen from the first epoch: whichever epoch validation keeps, its tower was trained.
    config = TrainConfig.from_dict({**TOWER_RUN, "epochs": 3, "device": "cuda",
                                    "image_tower": {**TOWER_RUN["image_tower"], "unfreeze_epoch": 1}})
    result = train(world, config, out=tmp_path / "run", progress=False)  # validation after unfreezing
    assert result.metrics["training"]["image_tower"]["trained"]
    assert next(result.model.image_tower.parameters()).is_cuda
    again = evaluate_run(tmp_path / "run", device="cuda")
    assert again["matches_saved"]
    png = sorted((world / "images").glob("*.png"))[0]
    assert predict_images(tmp_path / "run", [png], top_k=1, device="cuda")[0]["predictions"]["style"]
