"""Keyword groups: the keyword-only arguments client constructors share,
declared once.

A group is a TypedDict (the names and types, which mypy checks in user
code through ``**keywords: Unpack[TheKeywords]``) and a
:class:`KeywordGroup` next to it (the defaults, which the constructor
fills in at run time, and the parameters ``inspect.signature`` shows).
Groups nest as their TypedDicts do: ``ProducerKeywords(SecurityKeywords,
StatsKeywords)`` goes with ``KeywordGroup(ProducerKeywords,
SECURITY_KEYWORDS, STATS_KEYWORDS, acks="all")``.

A constructor taking one::

    @takes_keywords(PRODUCER_KEYWORDS)
    @argument_errors(ProduceError)
    def __init__(self, brokers: str, ..., **keywords: Unpack[ProducerKeywords]) -> None:
        arguments = PRODUCER_KEYWORDS.arguments("Producer", locals(), keywords)

``arguments`` is the constructor's ``locals()`` with every keyword of the
group, given or default, as the bases (ProducerBase, ...) read them. The
sync and async twin of a pair take the same group, so a keyword is added
in one place. What stays per constructor is what the API contract shows
per class: the positional parameters (which differ between some twins)
and keyword-only ones whose default or type differs.
"""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Tuple, TypeVar

# Unpack (PEP 692) types the constructors' ``**keywords``. Type checkers
# take typing_extensions' (mypy ships it); at run time it is typing's
# (3.11+), typing_extensions' where installed, or a stand-in, so that
# typing.get_type_hints() still evaluates the constructors' annotations
# (to the TypedDict) without a runtime dependency.
if TYPE_CHECKING:
    from typing_extensions import Unpack as Unpack
elif sys.version_info >= (3, 11):
    from typing import Unpack
else:
    try:
        from typing_extensions import Unpack
    except ImportError:

        class Unpack:
            def __class_getitem__(cls, item: Any) -> Any:
                return item

__all__ = ["KeywordGroup", "Unpack", "takes_keywords"]

_Init = TypeVar("_Init", bound=Callable[..., None])


class KeywordGroup(object):
    """The defaults of a TypedDict of keyword arguments, in the order its
    parameters are shown: its own keys (in declaration order), then those
    of each ``inherited`` group (the groups of its TypedDict bases, in the
    order given). ``defaults`` name own keys; an own key not named
    defaults to None. Checked at import: a default for a name the TypedDict
    lacks, or an inherited group whose TypedDict is not part of it, is a
    TypeError. Immutable; shared by every client of a kind."""

    __slots__ = ("keywords", "defaults", "_known")

    def __init__(self, keywords: type, *inherited: "KeywordGroup", **defaults: Any) -> None:
        names = list(keywords.__annotations__)
        taken = [name for group in inherited for name, _ in group.defaults]
        for name in taken + list(defaults):
            if name not in names:
                raise TypeError("%s has no keyword %r" % (keywords.__name__, name))
        own = [name for name in names if name not in taken]
        for name in defaults:
            if name not in own:
                raise TypeError("the default of %r belongs to the group that declares it" % name)
        #: The TypedDict the constructors' ``**keywords`` are typed with.
        self.keywords = keywords
        #: (name, default) of every keyword, in the order of the signatures.
        self.defaults: Tuple[Tuple[str, Any], ...] = tuple(
            [(name, defaults.get(name)) for name in own] + [pair for group in inherited for pair in group.defaults])
        self._known = dict(self.defaults)

    def arguments(self, client: str, local: Mapping[str, Any], given: Mapping[str, Any]) -> Dict[str, Any]:
        """A constructor's ``locals()`` with its ``**keywords`` (``given``)
        filled in: every keyword of the group, the default where not given.
        A name outside the group is the TypeError a signature raises,
        naming it (a misspelt keyword is never ignored)."""
        for name in given:
            if name not in self._known:
                raise TypeError("%s.__init__() got an unexpected keyword argument '%s'" % (client, name))
        out = dict(local)
        for name, default in self.defaults:
            out[name] = given.get(name, default)
        return out


def takes_keywords(group: KeywordGroup) -> Callable[[_Init], _Init]:
    """Decorates a constructor taking ``**keywords: Unpack[group.keywords]``
    (outermost, above argument_errors): its ``__signature__`` lists the
    group's keywords, keyword-only with their defaults and annotations,
    after its own parameters, so inspect.signature / help() show every
    parameter (the ``**keywords`` catch-all is not shown: nothing else is
    accepted)."""

    def decorate(init: _Init) -> _Init:
        sig = inspect.signature(init)
        params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        hints = group.keywords.__annotations__
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                     annotation=getattr(hints[name], "__forward_arg__", hints[name]))
                   for name, default in group.defaults]
        setattr(init, "__signature__", sig.replace(parameters=params))
        return init

    return decorate
