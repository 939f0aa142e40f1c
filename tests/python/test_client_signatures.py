"""The constructors' signatures are the API contract: declaring the
keyword groups once (gofka._keywords, ProducerKeywords & co.) changed how
they are written, not what they accept.

constructor_signatures.json holds ``inspect.signature`` of each client
constructor as it was before the groups (recorded on main at 0550ea5, one
parameter a line: name, kind, repr of the default, annotation), plus the
parameters added since, each where it is listed (the consumers'
``queued_max_messages_kbytes``, the producers' ``compression_level``).
Checked against it:

- the positional parameters: names, kinds, defaults, annotations and
  order, exactly (a call passing them positionally binds as before);
- the keyword-only parameters: names, defaults and annotations, in any
  order. The one deliberate change: their order, which no call can see.
  Each constructor now lists its own keyword-only parameters first, then
  its group in the group's order, the same in both twins (Producer,
  AsyncProducer, Consumer, ShareConsumer and AsyncShareConsumer changed
  their listing; AsyncConsumer, both admin clients and ConnectionPool
  kept theirs);

and, since ``__signature__`` is generated (takes_keywords), that the
constructors really accept what it shows: every recorded parameter
passed its recorded default the recorded way builds the client, and each
keyword-only one misspelt is a TypeError naming it. No broker needed:
constructors do no I/O.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
from typing import Any, Dict, List, Optional

import pytest

import gofka
from test_client_bases import release  # closes any client without an event loop

NOWHERE = "127.0.0.1:9"  # nothing listens there; constructors do no I/O
RECORDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "constructor_signatures.json")

#: Values of the parameters without a default.
REQUIRED = {"brokers": NOWHERE, "group_id": "g", "topics": ["t"]}


def recorded() -> Dict[str, List[List[Optional[str]]]]:
    with open(RECORDED, encoding="utf-8") as f:
        out: Dict[str, List[List[Optional[str]]]] = json.load(f)
    return out


def current(name: str) -> List[List[Optional[str]]]:
    """The signature of gofka.<name>.__init__ as recorded (without self)."""
    params = list(inspect.signature(getattr(gofka, name).__init__).parameters.values())[1:]
    return [[p.name, p.kind.name, None if p.default is p.empty else repr(p.default),
             None if p.annotation is p.empty else str(p.annotation)] for p in params]


def test_the_record_covers_every_client() -> None:
    assert sorted(recorded()) == sorted(["Producer", "AsyncProducer", "Consumer", "AsyncConsumer", "AdminClient",
                                         "AsyncAdminClient", "ShareConsumer", "AsyncShareConsumer", "ConnectionPool"])


@pytest.mark.parametrize("name", sorted(recorded()))
def test_signature_is_the_recorded_contract(name: str) -> None:
    before, now = recorded()[name], current(name)
    kinds = {p[1] for p in now}
    assert kinds <= {"POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"}, kinds  # no **keywords catch-all shown
    assert [p for p in now if p[1] != "KEYWORD_ONLY"] == [p for p in before if p[1] != "KEYWORD_ONLY"]
    assert sorted(p for p in now if p[1] == "KEYWORD_ONLY") == sorted(p for p in before if p[1] == "KEYWORD_ONLY")


#: The constructors whose keyword-only listing kept its recorded order.
ORDER_KEPT = ("AsyncConsumer", "AdminClient", "AsyncAdminClient", "ConnectionPool")


@pytest.mark.parametrize("name", ORDER_KEPT)
def test_listing_order_kept_where_the_group_matched_it(name: str) -> None:
    assert current(name) == recorded()[name]


@pytest.mark.parametrize("name", sorted(recorded()))
def test_every_recorded_parameter_is_accepted_as_recorded(name: str) -> None:
    """Positional ones passed positionally, keyword-only ones by keyword,
    each with its recorded default (or a value where it has none)."""
    args: List[Any] = []
    kwargs: Dict[str, Any] = {}
    for pname, kind, default, _ in recorded()[name]:
        value = REQUIRED[pname] if default is None else ast.literal_eval(default)
        if kind == "POSITIONAL_OR_KEYWORD":
            args.append(value)
        else:
            kwargs[pname] = value
    release(getattr(gofka, name)(*args, **kwargs))


@pytest.mark.parametrize("name", sorted(recorded()))
def test_a_misspelt_keyword_is_a_type_error_naming_it(name: str) -> None:
    required = [REQUIRED[p[0]] for p in recorded()[name] if p[2] is None]
    for pname, kind, _, _ in recorded()[name]:
        if kind != "KEYWORD_ONLY":
            continue
        wrong = pname + "s"
        with pytest.raises(TypeError) as info:
            getattr(gofka, name)(*required, **{wrong: None})
        assert "'%s'" % wrong in str(info.value), (name, wrong)


@pytest.mark.parametrize("sync_name,async_name", [
    ("Producer", "AsyncProducer"), ("Consumer", "AsyncConsumer"),
    ("AdminClient", "AsyncAdminClient"), ("ShareConsumer", "AsyncShareConsumer"),
])
def test_twins_share_one_keyword_group(sync_name: str, async_name: str) -> None:
    """Both twins take their shared keywords as one declaration (the same
    KeywordGroup, typed with the same TypedDict), listed in the same
    order at the end of their signatures."""
    import typing

    hints = [typing.get_type_hints(getattr(gofka, n).__init__)["keywords"] for n in (sync_name, async_name)]
    assert hints[0] == hints[1]
    names = [[p[0] for p in current(n) if p[1] == "KEYWORD_ONLY"] for n in (sync_name, async_name)]
    shared = [n for n in names[1] if n in names[0]]
    assert shared and names[0][-len(shared):] == shared and names[1][-len(shared):] == shared
