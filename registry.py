"""Every registry of choosable components, for ``artkg ls`` (PyKEEN style: string | class | instance)."""
from __future__ import annotations

from importlib import metadata

from class_resolver import ClassResolver


def registries() -> dict[str, ClassResolver]:
    """Name → resolver. Later subsystems (encoders, models, samplers, indexes) add theirs here."""
    from artkg.kg.builders import builder_resolver
    from artkg.models.encoders_image import image_encoder_resolver
    from artkg.models.encoders_text import text_encoder_resolver
    from artkg.models.encoders_joint import joint_encoder_resolver
    from artkg.explain.graph import algorithm_resolver
    from artkg.models.gnn import gnn_resolver
    from artkg.models.triplets import negative_sampler_resolver, positive_sampler_resolver
    from artkg.models.zoo import model_resolver
    from artkg.retrieval.index import index_resolver
    from artkg.models.recsys.sampling import sampler_resolver as recsys_sampler_resolver
    from artkg.models.recsys.zoo import recommender_resolver

    return {"builder": builder_resolver, "image_encoder": image_encoder_resolver,
            "text_encoder": text_encoder_resolver, "joint_encoder": joint_encoder_resolver,
            "gnn": gnn_resolver, "model": model_resolver,
            "index": index_resolver, "positive_sampler": positive_sampler_resolver,
            "negative_sampler": negative_sampler_resolver, "explainer": algorithm_resolver,
            "recommender": recommender_resolver, "recommender_sampler": recsys_sampler_resolver}


def public_name(resolver: ClassResolver, cls: type) -> str:
    """The spelling users type and read (``efficientnet_lite``, ``image_head``): a class's ``kind``
    where it has one, else the resolver's key. The resolver also accepts the normalised key."""
    kind = getattr(cls, "kind", None)
    return kind if isinstance(kind, str) and kind else resolver.normalize_cls(cls)


def public_names(resolver: ClassResolver) -> list[str]:
    """Every registered component of ``resolver`` in the one spelling used by ls, errors, help and README."""
    return sorted(public_name(resolver, cls) for cls in resolver.lookup_dict.values())


def versions() -> dict[str, str]:
    from artkg import __version__

    found = {"artkg": __version__}
    for dist in ("torch", "torch-geometric", "torchvision", "pyoxigraph", "rdflib", "SPARQLWrapper", "pandas",
                 "networkx", "open_clip_torch", "transformers", "faiss-cpu"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found
