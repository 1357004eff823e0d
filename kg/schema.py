"""The artkg graph schema: node types, edge types and the RDF predicates behind them.

Every builder (Wikidata, RDF files, WikiArt splits, ArtGraph exports, the synthetic world)
writes triples in the *Wikidata vocabulary* (``wdt:P…`` direct properties, ``rdfs:label``,
``schema:description``); a few relations Wikidata has no property for (a WikiArt *style*,
ArtGraph's extra facets) use the artkg vocabulary :data:`AKG`. Entities may have any IRI —
the predicates alone decide node and edge types.

Node types are lower snake case singular, edge types are ``(src, rel, dst)`` as in PyG.
Reverse edges are added when a graph is loaded (``rev_<rel>``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum

SCHEMA_VERSION = 1

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
P = "http://www.wikidata.org/prop/"
PS = "http://www.wikidata.org/prop/statement/"
PR = "http://www.wikidata.org/prop/reference/"
PRV = "http://www.wikidata.org/prop/reference/value/"  # full value nodes (wdv:…), never evidence
PQ = "http://www.wikidata.org/prop/qualifier/"
PSV = "http://www.wikidata.org/prop/statement/value/"
WIKIBASE = "http://wikiba.se/ontology#"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
# "unknown value" (somevalue) comes back from WDQS as a skolem IRI under this prefix (since 2022).
SKOLEM = "http://www.wikidata.org/.well-known/genid/"
PROV = "http://www.w3.org/ns/prov#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SCHEMA_DESCRIPTION = "http://schema.org/description"
AKG = "https://w3id.org/artkg/vocab#"
# The introduction of a class item's Wikipedia article (kgbuild wikidata --wikipedia-lang).
WIKIPEDIA_SUMMARY = AKG + "wikipediaSummary"

PREFIXES = {
    "wd": WD,
    "wdt": WDT,
    "p": P,
    "ps": PS,
    "pr": PR,
    "pq": PQ,
    "psv": PSV,
    "wikibase": WIKIBASE,
    "owl": "http://www.w3.org/2002/07/owl#",
    "prov": PROV,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "akg": AKG,
}


class NodeType(str, Enum):
    """Node types of the artkg graph."""

    artist = "artist"
    artwork = "artwork"
    movement = "movement"
    genre = "genre"
    style = "style"
    material = "material"
    subject = "subject"
    collection = "collection"
    place = "place"
    # ArtGraph facets without a Wikidata counterpart in artkg's core.
    field = "field"
    training = "training"
    patron = "patron"
    serie = "serie"
    period = "period"
    emotion = "emotion"
    # People who buy, like and rate artworks (recommenders; ``kgbuild interactions``, ``synth --users``).
    user = "user"


@dataclass(frozen=True)
class EdgeSpec:
    """One edge type: ``(src, rel, dst)`` and the predicate IRI it is read from."""

    src: NodeType
    rel: str
    dst: NodeType
    predicate: str
    doc: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.src.value, self.rel, self.dst.value)

    @property
    def prop(self) -> str:
        """Short name of the predicate (``P737`` or ``akg:style``)."""
        if self.predicate.startswith(WDT):
            return self.predicate[len(WDT):]
        return "akg:" + self.predicate[len(AKG):]


N = NodeType
EDGE_SPECS: tuple[EdgeSpec, ...] = (
    EdgeSpec(N.artist, "influenced_by", N.artist, WDT + "P737", "A was influenced by B"),
    EdgeSpec(N.artist, "influenced_by", N.movement, WDT + "P737", "A was influenced by a movement"),
    EdgeSpec(N.artist, "influenced_by", N.artwork, WDT + "P737", "A was influenced by a work"),
    EdgeSpec(N.artist, "influenced_by", N.genre, WDT + "P737", "A was influenced by a genre"),
    EdgeSpec(N.artist, "student_of", N.artist, WDT + "P1066", "A studied under B"),
    EdgeSpec(N.artist, "movement", N.movement, WDT + "P135", "artist's movement"),
    EdgeSpec(N.artist, "genre", N.genre, WDT + "P136", "genre the artist worked in"),
    EdgeSpec(N.artist, "born_in", N.place, WDT + "P19", "place of birth"),
    EdgeSpec(N.artist, "died_in", N.place, WDT + "P20", "place of death"),
    EdgeSpec(N.artwork, "created_by", N.artist, WDT + "P170", "creator"),
    EdgeSpec(N.artwork, "genre", N.genre, WDT + "P136", "genre of the work"),
    EdgeSpec(N.artwork, "movement", N.movement, WDT + "P135", "movement of the work"),
    EdgeSpec(N.artwork, "style", N.style, AKG + "style", "WikiArt/ArtGraph style (no Wikidata property)"),
    EdgeSpec(N.artwork, "depicts", N.subject, WDT + "P180", "depicted subject"),
    EdgeSpec(N.artwork, "made_of", N.material, WDT + "P186", "material used"),
    EdgeSpec(N.artwork, "in_collection", N.collection, WDT + "P195", "holding collection"),
    EdgeSpec(N.artwork, "location", N.place, WDT + "P276", "where the work is or was made"),
    EdgeSpec(N.collection, "located_in", N.place, WDT + "P131", "collection's city or country"),
    EdgeSpec(N.place, "located_in", N.place, WDT + "P17", "city's country"),
    # ArtGraph-only facets (artkg vocabulary).
    EdgeSpec(N.artist, "field", N.field, AKG + "field", "ArtGraph field (painting, sculpture…)"),
    EdgeSpec(N.artist, "training", N.training, AKG + "training", "ArtGraph school/training"),
    EdgeSpec(N.artist, "patron", N.patron, AKG + "patron", "ArtGraph patron"),
    EdgeSpec(N.artist, "subject", N.subject, AKG + "subject", "ArtGraph subject of an artist"),
    EdgeSpec(N.artwork, "serie", N.serie, AKG + "serie", "ArtGraph series"),
    EdgeSpec(N.artwork, "period", N.period, AKG + "period", "ArtGraph period of the artist's career"),
    EdgeSpec(N.artwork, "elicits", N.emotion, AKG + "elicits", "ArtGraph emotion"),
    # Class-to-class relations: what a class node has besides its instances (zero-shot needs them).
    EdgeSpec(N.style, "part_of", N.movement, WDT + "P361", "style is part of a movement"),
    EdgeSpec(N.style, "related_to", N.style, AKG + "relatedStyle", "a related style (no Wikidata property)"),
    # Interactions (artkg vocabulary): one edge per event, with its time (and rating) from the
    # event's reified record (see INTERACTION_* below and :mod:`artkg.kg.interactions`).
    EdgeSpec(N.user, "purchased", N.artwork, AKG + "purchased", "the user bought the work"),
    EdgeSpec(N.user, "liked", N.artwork, AKG + "liked", "the user liked the work"),
    EdgeSpec(N.user, "rated", N.artwork, AKG + "rated", "the user rated the work"),
    # Visual signatures (artkg vocabulary): one edge per link, with its kind and source from the
    # link's reified record (see LINK_* below and :mod:`artkg.kg.links`).
    EdgeSpec(N.artwork, "visually_linked", N.artwork, AKG + "visuallyLinked",
             "the works borrow visually from each other (kind and source on the link record)"),
)
del N

EDGE_BY_KEY = {spec.key: spec for spec in EDGE_SPECS}
# A predicate can feed several edge types (P136 for artists and artworks): the subject's type decides.
EDGES_BY_PREDICATE: dict[str, list[EdgeSpec]] = {}
for _spec in EDGE_SPECS:
    EDGES_BY_PREDICATE.setdefault(_spec.predicate, []).append(_spec)
INFLUENCE = EDGE_BY_KEY[("artist", "influenced_by", "artist")]
INTERACTION_KINDS = ("purchased", "liked", "rated")
INTERACTION_EDGES = tuple(EDGE_BY_KEY[("user", k, "artwork")] for k in INTERACTION_KINDS)
# An interaction event, reified: <event> akg:agent <user>; akg:action akg:purchased; akg:object
# <artwork>; akg:time "…"^^xsd:dateTime; akg:rating "4.0"^^xsd:double; akg:basket <basket> — next to
# the direct edge <user> akg:purchased <artwork>. An artwork's upload (available-from) time and
# whether it is one of a kind (leaves the inventory once bought) are akg:availableFrom / akg:oneOfAKind.
INTERACTION_AGENT, INTERACTION_ACTION, INTERACTION_OBJECT = AKG + "agent", AKG + "action", AKG + "object"
INTERACTION_TIME, INTERACTION_RATING, INTERACTION_BASKET = AKG + "time", AKG + "rating", AKG + "basket"
AVAILABLE_FROM, ONE_OF_A_KIND = AKG + "availableFrom", AKG + "oneOfAKind"
INTERACTION_PREDICATES = frozenset({INTERACTION_AGENT, INTERACTION_ACTION, INTERACTION_OBJECT, INTERACTION_TIME,
                                    INTERACTION_RATING, INTERACTION_BASKET, AVAILABLE_FROM, ONE_OF_A_KIND})

# A visual link between two artworks, reified: <link> akg:linkSubject <a>; akg:linkObject <b>;
# akg:linkKind akg:linkDuplicate; akg:linkSource "manifest" — next to the direct edge
# <a> akg:visuallyLinked <b> (none for a NEGATIVE link: a SPARQL query for linked works must not
# find "these are not linked"). Links mean "a and b", stored as given; consumers filter by kind.
VISUAL_LINK = EDGE_BY_KEY[("artwork", "visually_linked", "artwork")]
LINK_KINDS = ("positive", "similar", "duplicate", "negative")  # processed edge attr ``kind``: the index
LINK_KIND_ALIASES = {"wrong": "negative"}  # accepted on input
LINK_KIND_IRIS = {kind: AKG + "link" + kind.capitalize() for kind in LINK_KINDS}  # akg:linkDuplicate …
LINK_SUBJECT, LINK_OBJECT, LINK_KIND, LINK_SOURCE = (AKG + p for p in ("linkSubject", "linkObject", "linkKind",
                                                                       "linkSource"))
LINK_PREDICATES = frozenset({LINK_SUBJECT, LINK_OBJECT, LINK_KIND, LINK_SOURCE})


class Literal(str, Enum):
    """Literal-valued properties kept on nodes."""

    label = RDFS_LABEL
    description = SCHEMA_DESCRIPTION
    birth = WDT + "P569"
    death = WDT + "P570"
    inception = WDT + "P571"
    image = WDT + "P18"


# Year-valued literals become float tensors on the node type (NaN where unknown).
YEAR_ATTRS = {
    Literal.birth.value: ("artist", "birth_year"),
    Literal.death.value: ("artist", "death_year"),
    Literal.inception.value: ("artwork", "year"),
}

# Wikidata's statement ranks; ``wdt:`` (truthy) holds only the best rank of each property.
PREFERRED_RANK, NORMAL_RANK, DEPRECATED_RANK = (WIKIBASE + r for r in ("PreferredRank", "NormalRank",
                                                                     "DeprecatedRank"))
# Qualifiers that change what an influence claim means, kept on its evidence record.
EVIDENCE_QUALIFIERS = ("P1480", "P2241")  # sourcing circumstances ("presumably"), reason for deprecation

# Typing by class (P31 instance of, P279 subclass of): Wikidata classes → node types. Used before
# the predicate rules below; an entity whose classes map to nothing falls back to the strong rules.
INSTANCE_OF, SUBCLASS_OF = WDT + "P31", WDT + "P279"
CLASS_TYPES: dict[str, NodeType] = {WD + q: t for q, t in {
    "Q5": NodeType.artist,  # human
    "Q838948": NodeType.artwork,  # work of art
    "Q4502142": NodeType.artwork,  # visual artwork
    "Q3305213": NodeType.artwork,  # painting
    "Q860861": NodeType.artwork,  # sculpture
    "Q93184": NodeType.artwork,  # drawing
    "Q11060274": NodeType.artwork,  # print
    "Q125191": NodeType.artwork,  # photograph
    "Q968159": NodeType.movement,  # art movement
    "Q1792644": NodeType.movement,  # art style
    "Q2198855": NodeType.movement,  # cultural movement
    "Q1792379": NodeType.genre,  # art genre
    "Q16743958": NodeType.genre,  # genre of painting
    "Q214609": NodeType.material,  # material
    "Q207694": NodeType.collection,  # art museum
    "Q33506": NodeType.collection,  # museum
    "Q515": NodeType.place,  # city
    "Q6256": NodeType.place,  # country
    "Q486972": NodeType.place,  # human settlement
}.items()}

# Values recorded as "unknown" (a skolem IRI in Wikidata) where the gap matters: node attribute 1.0.
UNKNOWN_VALUE = AKG + "unknownValue"  # <entity> akg:unknownValue <wdt:P…>
UNKNOWN_ATTRS = {
    WDT + "P570": ("artist", "death_unknown"),
    WDT + "P569": ("artist", "birth_unknown"),
    WDT + "P737": ("artist", "influencer_unknown"),
    WDT + "P170": ("artwork", "creator_unknown"),
}
# A date's precision (Wikidata timePrecision: 9 year, 8 decade, 7 century, 6 millennium, 11 day)
# and "several best-rank values, one chosen" are written by the crawler next to the wdt: value.
DATE_PRECISION = AKG + "timePrecision/"  # + P569 → <entity> akg:timePrecision/P569 9
SEVERAL_VALUES = AKG + "severalValues"  # <entity> akg:severalValues <wdt:P569>

# Predicates too general to type their object (anything is "part of" something in Wikidata).
# "Influenced by" types nothing but artists (weakly): a movement or work it points to is typed by
# its class or its other statements.
_UNTYPED_OBJECTS = frozenset({WDT + "P361", WDT + "P737"})

# How an entity's type is decided, strongest first: (predicate, position) → node type.
# Artworks first (anything with a creator, inception, depicted subject …). Then artists on strong
# evidence (creating, life dates, birthplace, teaching/studying). Then the objects of movement and
# genre statements — Wikidata sometimes says an artist was "influenced by" a movement (P737 →
# Impressionism), so these must outrank the weak evidence of being either end of a P737.
# Subjects of P135/P136 that nothing else types are artists; metadata types follow.
TYPE_RULES: tuple[tuple[str, str, NodeType], ...] = (
    (WDT + "P170", "s", NodeType.artwork),
    (WDT + "P571", "s", NodeType.artwork),
    (WDT + "P180", "s", NodeType.artwork),
    (WDT + "P186", "s", NodeType.artwork),
    (WDT + "P195", "s", NodeType.artwork),
    (AKG + "style", "s", NodeType.artwork),
    (WDT + "P170", "o", NodeType.artist),
    (WDT + "P569", "s", NodeType.artist),
    (WDT + "P570", "s", NodeType.artist),
    (WDT + "P19", "s", NodeType.artist),
    (WDT + "P1066", "s", NodeType.artist),
    (WDT + "P1066", "o", NodeType.artist),
    (WDT + "P135", "o", NodeType.movement),
    (WDT + "P136", "o", NodeType.genre),
    (WDT + "P737", "s", NodeType.artist),
    (WDT + "P737", "o", NodeType.artist),
    (WDT + "P135", "s", NodeType.artist),
    (WDT + "P136", "s", NodeType.artist),
    (AKG + "relatedStyle", "s", NodeType.style),  # a style is a style with or without artworks
    (AKG + "purchased", "s", NodeType.user),
    (AKG + "liked", "s", NodeType.user),
    (AKG + "rated", "s", NodeType.user),
    (AKG + "visuallyLinked", "s", NodeType.artwork),
) + tuple((spec.predicate, "o", spec.dst) for spec in EDGE_SPECS
          if spec.dst.value not in ("artist",) and spec.predicate not in _UNTYPED_OBJECTS)

TYPE_PRIORITY = {node_type: rank for rank, node_type in enumerate(
    [NodeType.artwork, NodeType.artist, NodeType.movement, NodeType.style, NodeType.genre,
     NodeType.collection, NodeType.material, NodeType.subject, NodeType.place, NodeType.field,
     NodeType.training, NodeType.patron, NodeType.serie, NodeType.period, NodeType.emotion,
     NodeType.user])}


def schema_fingerprint() -> str:
    """A short hash of the schema, stored in manifests to detect incompatible graph dirs."""
    payload = json.dumps([(s.key, s.predicate) for s in EDGE_SPECS], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def describe() -> dict:
    """The schema as plain data (used by ``artkg schema`` and the README)."""
    return {
        "version": SCHEMA_VERSION,
        "node_types": [t.value for t in NodeType],
        "edge_types": [
            {"edge": list(s.key), "property": s.prop, "predicate": s.predicate, "doc": s.doc}
            for s in EDGE_SPECS
        ],
        "literals": {lit.name: lit.value for lit in Literal},
    }


def local_name(iri: str) -> str:
    """The last path segment or fragment of an IRI (``Q42`` for a Wikidata entity)."""
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1] or iri
    return iri
