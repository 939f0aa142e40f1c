"""The public Python API is typed (py.typed ships in the wheel) and
documented: every public function, method and property of gofka.__all__
has annotations on all parameters and its return, and a docstring."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Callable, List

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import gofka  # noqa: E402
from gofka import cli  # noqa: E402

DUNDERS = {"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__aiter__", "__anext__"}


def problems(name: str, fn: Callable[..., Any], need_doc: bool) -> List[str]:
    out = []
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty:
            out.append("%s: parameter %s has no annotation" % (name, p.name))
    if sig.return_annotation is inspect.Signature.empty and not name.endswith(".__init__"):
        out.append("%s: no return annotation" % name)
    if need_doc and not inspect.getdoc(fn):
        out.append("%s: no docstring" % name)
    return out


def public_callables() -> List[Any]:
    out = []
    for n in list(gofka.__all__) + ["library_version"]:
        obj = getattr(gofka, n)
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            for m, v in inspect.getmembers(obj):
                if m.startswith("_") and m not in DUNDERS:
                    continue
                if isinstance(v, property):
                    out.append(("%s.%s" % (n, m), v.fget, True))
                elif inspect.isfunction(v) and not (m == "__init__" and v is object.__init__):
                    out.append(("%s.%s" % (n, m), v, m not in DUNDERS or m == "__init__"))
        elif callable(obj):
            out.append((n, obj, True))
    for n in cli.__all__:
        obj = getattr(cli, n)
        if callable(obj):
            out.append(("cli." + n, obj, True))
    return out


def test_public_api_is_annotated_and_documented() -> None:
    found = public_callables()
    assert len(found) > 100
    bad = [p for name, fn, doc in found for p in problems(name, fn, doc)]
    assert bad == []


def test_client_classes_are_documented_and_typed() -> None:
    # constructors' defaults are stated in the class or __init__ docstring
    for cls in (gofka.Producer, gofka.Consumer, gofka.AdminClient, gofka.AsyncProducer, gofka.AsyncConsumer,
                gofka.AsyncAdminClient, gofka.DevCluster):
        assert inspect.getdoc(cls), cls
        sig = inspect.signature(cls.__init__)
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values() if p.name != "self")


def test_py_typed_marker() -> None:
    assert os.path.exists(os.path.join(ROOT, "python", "gofka", "py.typed"))
