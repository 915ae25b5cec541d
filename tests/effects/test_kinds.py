"""The effect kinds (dagmed.effects.kinds): names read back, and what each kind says about itself."""

import pytest

from dagmed.effects.kinds import (
    CONVENTIONS,
    DE,
    DEP,
    IIE,
    INT,
    KINDS,
    PM,
    TE,
    Effect,
    interaction_sets,
    kind_of,
    regime_labels,
)

# One example of every kind, with the mediators it names.
EXAMPLES = [
    (TE, ()),
    (DE, ()),
    (IIE, ("dev_peer",)),
    (INT, ("m1", "m2")),
    (INT, ("a", "b", "c")),
    (DEP, ()),
    (PM, ("sub_exp",)),
]


def test_every_kind_is_in_the_table_in_report_order():
    assert list(KINDS) == ["TE", "DE", "IIE", "INT", "DEP", "PM"]
    assert all(KINDS[symbol].symbol == symbol for symbol in KINDS)
    assert {kind for kind, _ in EXAMPLES} == set(KINDS.values())


@pytest.mark.parametrize("kind, mediators", EXAMPLES, ids=lambda x: getattr(x, "symbol", None) or ",".join(x) or "-")
def test_parse_round_trips(kind, mediators):
    effect = Effect(kind, mediators)
    assert Effect.parse(effect.name) == effect
    assert Effect.parse(effect.name).name == effect.name
    assert kind_of(effect.name) is kind


@pytest.mark.parametrize(
    "name, want",
    [
        ("TE", "TE"),
        ("DE", "DE"),
        ("DEP", "DEP"),
        ("IIE[m]", "IIE[m]"),
        ("INT[m1,m2]", "INT[m1,m2]"),
        ("PM[dev_peer]", "PM[dev_peer]"),
    ],
)
def test_names_are_as_in_effects_json(name, want):
    assert Effect.parse(name).name == want
    assert Effect(KINDS[name.partition("[")[0]], Effect.parse(name).mediators).name == want


def test_parse_reads_the_mediators_in_order():
    assert Effect.parse("INT[b,a,c]").mediators == ("b", "a", "c")
    assert Effect.parse("IIE[dev_peer]").mediators == ("dev_peer",)
    assert Effect.parse("TE").mediators == ()


@pytest.mark.parametrize(
    "name", ["XYZ", "", "te", "IIE", "INT", "PM", "TE[m]", "DE[m]", "DEP[m]", "IIE[m", "IIE(m)", "IIE[m]x", "Te"]
)
def test_parse_refuses_what_is_not_an_effect_name(name):
    with pytest.raises(ValueError, match=r"not an effect name: .*; valid kinds are TE, DE, IIE, INT, DEP, PM"):
        Effect.parse(name)
    with pytest.raises(ValueError, match="not an effect name"):
        kind_of(name)


# what each kind is: (centre, component of TE, ratio, mediators it names)
PER_KIND = {
    "TE": ("mean", False, False, 0),
    "DE": ("mean", True, False, 0),
    "IIE": ("mean", True, False, 1),
    "INT": ("mean", True, False, -1),
    "DEP": ("mean", True, False, 0),
    "PM": ("median", False, True, 1),
}


@pytest.mark.parametrize("symbol", sorted(PER_KIND))
def test_centre_component_ratio_per_kind(symbol):
    kind = KINDS[symbol]
    assert (kind.centre, kind.component, kind.ratio, kind.mediators) == PER_KIND[symbol]
    assert kind.meaning and kind.label.startswith(symbol)


@pytest.mark.parametrize("kind, mediators", EXAMPLES, ids=lambda x: getattr(x, "symbol", None) or ",".join(x) or "-")
def test_kind_of_a_name_carries_its_kinds_properties(kind, mediators):
    got = kind_of(Effect(kind, mediators).name)
    assert (got.centre, got.component, got.ratio) == PER_KIND[kind.symbol][:3]


def test_the_components_are_exactly_de_iie_int_dep():
    assert sorted(s for s, k in KINDS.items() if k.component) == ["DE", "DEP", "IIE", "INT"]
    assert [s for s, k in KINDS.items() if k.ratio] == ["PM"]


def test_conventions():
    assert list(CONVENTIONS) == ["control", "treated"]
    assert (CONVENTIONS["control"].level, CONVENTIONS["treated"].level) == (0, 1)
    assert all(c.name == n and c.description for n, c in CONVENTIONS.items())


def test_interaction_sets_smaller_first_in_spec_order():
    assert interaction_sets(("m",)) == []
    assert interaction_sets(("b", "a")) == [("b", "a")]
    sets = interaction_sets(("a", "b", "c", "d"))
    assert len(sets) == 2**4 - 4 - 1
    assert [len(s) for s in sets] == sorted(len(s) for s in sets)
    assert sets[:2] == [("a", "b"), ("a", "c")] and sets[-1] == ("a", "b", "c", "d")


def test_regime_labels_in_table_order():
    assert regime_labels(()) == [(0, ()), (1, ())]
    labels = regime_labels(("m1", "m2"))
    assert labels == [
        (0, (0, 0)),
        (0, (0, 1)),
        (0, (1, 0)),
        (0, (1, 1)),
        (1, (0, 0)),
        (1, (0, 1)),
        (1, (1, 0)),
        (1, (1, 1)),
    ]
