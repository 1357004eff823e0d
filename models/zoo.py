"""``model_resolver``: GraphCLIP and its baselines by name (``artkg train MODEL``), and rebuilding a
model from the spec a run stored."""
from __future__ import annotations

from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.baselines import ImageHeadClassifier, LinearProbe, PrototypeClassifier
from artkg.models.classifier import ArtworkClassifier
from artkg.models.graphclip import GraphCLIP

model_resolver: ClassResolver[ArtworkClassifier] = ClassResolver(
    [GraphCLIP, PrototypeClassifier, LinearProbe, ImageHeadClassifier], base=ArtworkClassifier,
    suffix="Classifier", default=GraphCLIP)


def model_class(name: str | type[ArtworkClassifier]) -> type[ArtworkClassifier]:
    """The class for a model name; an unknown name is an InputError listing the registered ones."""
    if isinstance(name, type):
        return name
    if model_resolver.normalize(name) not in model_resolver.lookup_dict:
        raise InputError(f"unknown model {name!r}",
                         f"choose one of {', '.join(model_name(c) for c in model_resolver)}")
    return model_resolver.lookup(name)


def model_name(cls: type[ArtworkClassifier]) -> str:
    """The readable registry name: graphclip, prototype, linear_probe, image_head."""
    return {GraphCLIP: "graphclip", PrototypeClassifier: "prototype", LinearProbe: "linear_probe",
            ImageHeadClassifier: "image_head"}.get(cls, model_resolver.normalize_cls(cls))


def build_model(name: str | type[ArtworkClassifier], spec: dict) -> ArtworkClassifier:
    """Rebuild a model from its class name and stored spec (weights are loaded separately)."""
    return model_class(name)(**spec)
