"""``recommender_resolver``: the recommenders by the names users type (``artkg train MODEL``), and
rebuilding one from the spec a run stored."""
from __future__ import annotations

import inspect

from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.recsys.base import Recommender
from artkg.models.recsys.content import ENGINES
from artkg.models.recsys.factorization import BPRMF, VBPR, PopularityRecommender, RandomRecommender
from artkg.models.recsys.visual import CuratorNet, CuratorNetKG, VisRank

RECOMMENDERS: tuple[type[Recommender], ...] = (CuratorNet, CuratorNetKG, VisRank, VBPR, BPRMF,
                                               PopularityRecommender, RandomRecommender, *ENGINES)

recommender_resolver: ClassResolver[Recommender] = ClassResolver(
    list(RECOMMENDERS), base=Recommender, suffix="Recommender", default=CuratorNet)
# Every ``kind`` normalises to its class's key (``bpr_mf`` → ``bprmf``), so no synonyms are needed.


def recommender_names() -> list[str]:
    """Every registered recommender's ``kind`` (the names users type), sorted."""
    return sorted(cls.kind for cls in RECOMMENDERS)


def recommender_class(name: str | type[Recommender]) -> type[Recommender]:
    """The class for a name (its ``kind``; the resolver's normalised key also works); an unknown name
    is an InputError listing the kinds."""
    if isinstance(name, type):
        return name
    try:
        return recommender_resolver.lookup(name)
    except (KeyError, ValueError, TypeError):
        raise InputError(f"unknown recommender {name!r}",
                         f"choose one of {', '.join(recommender_names())}") from None


def build_recommender(name: str | type[Recommender], **kwargs) -> Recommender:
    """A recommender by name with constructor ``kwargs`` (e.g. a run's stored spec); an unknown option
    is an InputError listing the accepted ones."""
    cls = recommender_class(name)
    accepted = [p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise InputError(f"{cls.kind} has no option {', '.join(map(repr, unknown))}",
                         f"use {', '.join(accepted) or 'no options'}")
    return cls(**kwargs)
