"""``artkg search`` and loose ``--artist``/``--artwork``: what a person types finds what they mean."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graph import load_graph
from artkg.kg.search import fold, search

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def graph(small_world):
    return load_graph(small_world)


def pick_artist(graph, unique_surname: bool = True) -> tuple[int, str]:
    """An artist whose surname no other label shares (so a loose query has one answer)."""
    labels = graph.labels["artist"]
    for i, label in enumerate(labels):
        surname = label.split()[-1]
        if sum(surname in other for kind in graph.labels.values() for other in kind if other) == 1:
            return i, label
    pytest.skip("no artist with a unique surname")


def test_fold_drops_case_accents_and_punctuation():
    assert fold("Paul  Cézanne") == "paul cezanne" == fold("PAUL cezanne")
    assert fold("Straße") == "strasse" and fold("Landscape No. 1") == "landscape no 1"


def test_levels_rank_exact_prefix_words_substring_then_typos(graph):
    i, label = pick_artist(graph)
    first, surname = label.split()[0], label.split()[-1]
    exact = search(graph, label.upper(), "artist")
    assert exact[0]["label"] == label and exact[0]["match"] == "exact"
    words = search(graph, f"{surname.lower()} {first.lower()}", "artist")  # any order, every word
    assert words[0]["label"] == label and words[0]["match"] == "words"
    inner = search(graph, surname[1:-1], "artist")
    assert any(r["label"] == label and r["match"] in ("words", "substring") for r in inner)
    typo = surname[:2] + surname[3:]  # one letter dropped
    fuzzy = search(graph, f"{first} {typo}", "artist")
    assert fuzzy and fuzzy[0]["label"] == label and fuzzy[0]["match"] == "fuzzy"
    scores = [r["score"] for r in search(graph, first, None, limit=50)]
    assert scores == sorted(scores, reverse=True)


def test_ids_types_and_dates(graph):
    artwork = graph.iris["artwork"][5].rsplit("/", 1)[-1]
    (hit,) = [r for r in search(graph, artwork) if r["match"] == "id"]
    assert hit["type"] == "artwork" and hit["year"] is not None and hit["creator"]
    year = float(graph.node_attr("artwork", "year")[5])
    assert hit["year"] == int(year)
    artist = search(graph, graph.labels["artist"][3], "artist")[0]
    assert artist["born"] == int(graph.node_attr("artist", "birth_year")[3])
    assert all(r["type"] == "style" for r in search(graph, "style", "style"))
    with pytest.raises(InputError, match="no node type 'colour'"):
        search(graph, "x", "colour")


def test_resolve_accepts_a_unique_loose_spelling_and_lists_several(graph):
    i, label = pick_artist(graph)
    first, surname = label.split()[0], label.split()[-1]
    assert graph.resolve("artist", label.lower()) == i
    assert graph.resolve("artist", surname.lower()) == i
    assert graph.resolve("artist", f"{first} {surname[:2] + surname[3:]}".lower()) == i
    shared = next(w for w in (lbl.split()[0] for lbl in graph.labels["artist"])
                  if sum(lbl.startswith(w + " ") for lbl in graph.labels["artist"]) > 1)
    with pytest.raises(NotFoundError, match=f"artists match '{shared.lower()}'.*artkg search"):
        graph.resolve("artist", shared.lower())


def run(*args):
    return subprocess.run([str(BIN / "artkg"), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_cli_search_and_influence_with_a_loose_name(small_world, graph):
    i, label = pick_artist(graph)
    done = run("search", small_world, label.lower(), "--type", "artist", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert results[0]["label"] == label and results[0]["id"] == graph.iris["artist"][i].rsplit("/", 1)[-1]
    text = run("search", small_world, label.lower()).stdout
    assert label in text and results[0]["id"] in text
    chains = run("influence", small_world, "--artist", label.lower().replace(label.split()[-1][2].lower(), "", 1),
                 "--json")
    assert chains.returncode == 0, chains.stderr
    assert json.loads(chains.stdout)["artist"]["label"] == label
    nothing = run("search", small_world, "qqqqqqq")
    assert nothing.returncode == 0 and "nothing in" in nothing.stdout


def test_numbers_are_not_typos(graph):
    """"Style 99" is no misspelling of "Style 00": a number in the query must match exactly."""
    assert not search(graph, "Style 99", "style")
    with pytest.raises(NotFoundError, match="no style 'Style 99'"):
        graph.resolve("style", "Style 99")
    style = graph.labels["style"][0]  # "Style 00 (…)": a typo in a word still finds it
    assert search(graph, "Styel " + style.split()[1], "style")[0]["label"] == style
