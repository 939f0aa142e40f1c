"""What AdminClient and AsyncAdminClient share: argument/result
conversions (one "plan" per method: operation name, JSON arguments and
result converter), options, validation and handle ownership (AdminBase).

Every method is one call of the library's generic admin entry point
(``gofka_admin_call_async``: an operation name, JSON arguments, a JSON
result); the behaviour (retries, coordinators, leaders, waiting for
metadata to show a change) lives in the Go engine. The two clients differ
only in how they wait for the result: admin.py slices the wait in the
calling thread, async_admin.py awaits it through the AsyncBridge.
"""

from __future__ import annotations

import datetime
import json
import numbers
from ctypes import byref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union, cast

from . import _native, _stats
from ._bridge import Event
from ._client import ConnectedFlag, HandleBase, merge_config, validate_brokers, validate_client_id, validate_timeout
from ._limits import check_string
from ._keywords import KeywordGroup
from ._security import SECURITY_KEYWORDS, SecurityKeywords, SecurityOptions, client_security
from ._stats import STATS_KEYWORDS, StatsKeywords
from .pool import pool_config
from .retry import RetryPolicy, check_policy

__all__ = ["AdminBase", "NewTopic", "RESOURCE_TYPES", "OFFSET_SPECS"]

#: resource types of describe_configs / alter_configs
RESOURCE_TYPES = ("topic", "broker", "broker_logger", "group", "client_metrics")

#: named offset specs of list_offsets (a number is a timestamp in seconds)
OFFSET_SPECS = {"earliest": -2, "latest": -1, "max_timestamp": -3}

_CONFIG_OPS = ("set", "delete", "append", "subtract")


class NewTopic(object):
    """A topic to create (for :meth:`AdminClient.create_topics`).

    Args:
        name: topic name.
        num_partitions: partition count (-1 = the broker default).
        replication_factor: replicas per partition (-1 = the broker default).
        config: topic properties, e.g. ``{"retention.ms": "60000"}``.
        replica_assignment: optional ``{partition: [broker ids]}``; when
            given, num_partitions and replication_factor are taken from it.
    """

    __slots__ = ("name", "num_partitions", "replication_factor", "config", "replica_assignment")

    def __init__(
        self,
        name: str,
        num_partitions: int = 1,
        replication_factor: int = 1,
        config: Optional[Mapping[str, Any]] = None,
        replica_assignment: Optional[Mapping[int, Sequence[int]]] = None,
    ) -> None:
        self.name = _topic(name)
        self.num_partitions = _int("num_partitions", num_partitions, -1, 2 ** 31 - 1, forbid=0)
        self.replication_factor = _int("replication_factor", replication_factor, -1, 2 ** 15 - 1, forbid=0)
        if config is not None and not isinstance(config, Mapping):
            raise TypeError("config must be a dict, not %s" % type(config).__name__)
        self.config = {}
        for k, v in (config or {}).items():
            if not isinstance(k, str) or not k:
                raise ValueError("config keys must be non-empty str, got %r" % (k,))
            self.config[k] = _config_value(k, v)
        self.replica_assignment: Optional[Dict[int, List[int]]] = None
        if replica_assignment is not None:
            if not isinstance(replica_assignment, Mapping) or not replica_assignment:
                raise ValueError("replica_assignment must be a non-empty dict {partition: [broker ids]}")
            self.replica_assignment = {
                _int("partition", p, 0, 2 ** 31 - 1): [_int("broker id", b, 0, 2 ** 31 - 1) for b in bs]
                for p, bs in replica_assignment.items()
            }

    def __repr__(self) -> str:
        return "NewTopic(%r, num_partitions=%d, replication_factor=%d)" % (
            self.name,
            self.num_partitions,
            self.replication_factor,
        )

    def _json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "name": self.name,
            "num_partitions": self.num_partitions,
            "replication_factor": self.replication_factor,
            "configs": self.config,
        }
        if self.replica_assignment:
            out["assignments"] = {str(p): bs for p, bs in self.replica_assignment.items()}
        return out


# ---------------------------------------------------------------------------
# Argument checks


def _topic(name: Any, what: str = "topic name") -> str:
    if not isinstance(name, str):
        raise TypeError("%s must be str, not %s" % (what, type(name).__name__))
    if not name:
        raise ValueError("%s must not be empty" % what)
    if "\0" in name:
        raise ValueError("%s must not contain NUL characters" % what)
    return name


def _group(group_id: Any) -> str:
    return check_string("group_id", _topic(group_id, "group_id"))


def _int(what: str, value: Any, lo: int, hi: int, forbid: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be int, not %s" % (what, type(value).__name__))
    if value < lo or value > hi or value == forbid:
        raise ValueError("%s out of range: %d" % (what, value))
    return value


def _names(values: Any, what: str, check: Callable[[Any], str]) -> List[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError("%s must be a list of str" % what)
    out = [check(v) for v in values]
    if not out:
        raise ValueError("%s must not be empty" % what)
    return out


def _config_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError("config %r: value must be str, int, float or bool, not %s" % (key, type(value).__name__))


def _resource(resource_type: Any) -> str:
    if not isinstance(resource_type, str):
        raise TypeError("resource_type must be str, not %s" % type(resource_type).__name__)
    rt = resource_type.lower()
    if rt not in RESOURCE_TYPES:
        raise ValueError("resource_type must be one of %s, got %r" % (", ".join(RESOURCE_TYPES), resource_type))
    return rt


def _partitions(partitions: Any) -> Optional[List[int]]:
    if partitions is None:
        return None
    if isinstance(partitions, (str, bytes)) or not isinstance(partitions, Iterable):
        raise TypeError("partitions must be a list of int")
    return [_int("partition", p, 0, 2 ** 31 - 1) for p in partitions]


def _offsets_arg(offsets: Any, key: str = "offset") -> List[Dict[str, Any]]:
    """{topic: {partition: offset}} -> [{"topic", "partition", key}]."""
    if not isinstance(offsets, Mapping) or not offsets:
        raise ValueError("offsets must be a non-empty dict {topic: {partition: offset}}")
    out = []
    for topic, parts in offsets.items():
        _topic(topic)
        if not isinstance(parts, Mapping) or not parts:
            raise ValueError("offsets[%r] must be a non-empty dict {partition: offset}" % (topic,))
        for p, off in parts.items():
            out.append(
                {"topic": topic, "partition": _int("partition", p, 0, 2 ** 31 - 1), key: _int("offset", off, 0, 2 ** 63 - 1)}
            )
    return out


def _topic_partitions(partitions: Any) -> Optional[List[Dict[str, Any]]]:
    """None (every partition) or a list of (topic, partition) or a dict
    {topic: [partitions]} -> None or [{"topic", "partition"}]."""
    if partitions is None:
        return None
    tps = []
    if isinstance(partitions, Mapping):
        for t, ps in partitions.items():
            for p in _partitions(ps) or []:
                tps.append({"topic": _topic(t), "partition": p})
    elif isinstance(partitions, Iterable) and not isinstance(partitions, str):
        for item in partitions:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError("partitions must be (topic, partition) tuples or a dict {topic: [partitions]}")
            tps.append({"topic": _topic(item[0]), "partition": _int("partition", item[1], 0, 2 ** 31 - 1)})
    else:
        raise TypeError("partitions must be (topic, partition) tuples or a dict {topic: [partitions]}")
    return tps


def _spec(offset_spec: Any) -> int:
    if isinstance(offset_spec, str):
        try:
            return OFFSET_SPECS[offset_spec.lower()]
        except KeyError:
            raise ValueError(
                "offset_spec must be one of %s or a timestamp, got %r" % (", ".join(OFFSET_SPECS), offset_spec)
            ) from None
    if isinstance(offset_spec, datetime.datetime):
        offset_spec = offset_spec.timestamp()
    if isinstance(offset_spec, bool) or not isinstance(offset_spec, numbers.Real):
        raise TypeError("offset_spec must be a str or a timestamp in seconds, not %s" % type(offset_spec).__name__)
    # Every numbers.Real (int, float, Fraction, numpy scalars) compares and
    # multiplies as below; mypy does not model the numeric tower.
    offset_spec = cast(float, offset_spec)
    if offset_spec != offset_spec or offset_spec < 0 or offset_spec > 2 ** 53:
        raise ValueError("timestamp must be a non-negative number of seconds, got %r" % (offset_spec,))
    return int(round(offset_spec * 1000))


# ---------------------------------------------------------------------------
# Result conversions


def _broker(b: Mapping[str, Any]) -> Dict[str, Any]:
    host, port = b["host"], b["port"]
    return {
        "id": b["id"],
        "host": host,
        "port": port,
        "rack": b["rack"] or None,
        "addr": "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port),
    }


def _partition(p: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "partition": p["partition"],
        "id": p["partition"],  # key of the earlier pure-Python client
        "leader": p["leader"],
        "leader_addr": p["leader_addr"] or None,
        "leader_epoch": p["leader_epoch"],
        "replicas": list(p["replicas"]),
        "isr": list(p["isr"]),
        "offline_replicas": list(p["offline_replicas"]),
        "error": p["error"] or None,
        "error_code": p["error_code"],
    }


def _topic_meta(t: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "name": t["name"],
        "topic_id": t["topic_id"] or None,
        "internal": t["internal"],
        "error": t["error"] or None,
        "error_code": t["error_code"],
        "partitions": [_partition(p) for p in t["partitions"]],
    }


def _cluster(m: Mapping[str, Any]) -> Dict[str, Any]:
    brokers = [_broker(b) for b in m["brokers"]]
    controller = next((b for b in brokers if b["id"] == m["controller_id"]), None)
    return {
        "cluster_id": m["cluster_id"] or None,
        "controller_id": m["controller_id"],
        "controller": controller,
        "brokers": brokers,
        "topics": [_topic_meta(t) for t in m["topics"]],
    }


def _config_entry(c: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "value": c["value"],
        "source": c["source"],
        "is_default": c["is_default"],
        "read_only": c["read_only"],
        "sensitive": c["sensitive"],
    }


def _describe_topic(t: Mapping[str, Any]) -> Dict[str, Any]:
    out = _topic_meta(t)
    out["leaders"] = {p["partition"]: p["leader_addr"] for p in out["partitions"]}
    out["configs"] = {k: v["value"] for k, v in sorted(t["configs"].items())}
    out["config_entries"] = {k: _config_entry(v) for k, v in sorted(t["configs"].items())}
    return out


def _group_desc(g: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "group_id": g["group_id"],
        "state": g["state"],
        "type": g["type"],
        "protocol_type": g["protocol_type"],
        "protocol": g["protocol"],
        "coordinator": _broker(g["coordinator"]),
        "members": [
            {
                "member_id": m["member_id"],
                "group_instance_id": m["group_instance_id"],
                "client_id": m["client_id"],
                "client_host": m["client_host"],
                "assignment": {t: sorted(ps) for t, ps in m["assignment"].items()},
            }
            for m in g["members"]
        ],
    }


def _share_group_desc(g: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "group_id": g["group_id"],
        "state": g["state"],
        "group_epoch": g["group_epoch"],
        "assignment_epoch": g["assignment_epoch"],
        "assignor": g["assignor"],
        "coordinator": _broker(g["coordinator"]),
        "members": [
            {
                "member_id": m["member_id"],
                "rack_id": m["rack_id"],
                "client_id": m["client_id"],
                "client_host": m["client_host"],
                "member_epoch": m["member_epoch"],
                "subscribed_topics": list(m["subscribed_topics"]),
                "assignment": {t: sorted(ps) for t, ps in m["assignment"].items()},
            }
            for m in g["members"]
        ],
    }


def _nested(rows: Iterable[Mapping[str, Any]], value: Callable[[Mapping[str, Any]], Any]) -> Dict[str, Dict[int, Any]]:
    out: Dict[str, Dict[int, Any]] = {}
    for r in rows:
        out.setdefault(r["topic"], {})[r["partition"]] = value(r)
    return out


ResultT = TypeVar("ResultT")

#: An admin operation: (operation, JSON arguments, converter of the JSON
#: result into what the method returns, of type ResultT).
Plan = Tuple[str, Dict[str, Any], Callable[[Any], ResultT]]


def no_result(_: Any) -> None:
    """The converter of the operations whose methods return None."""
    return None


def _identity(x: Any) -> Any:
    return x


class AdminPlans(object):
    """Each admin method as (operation, JSON arguments, result converter),
    shared by AdminClient and AsyncAdminClient. Arguments are checked here,
    before any library call."""

    @staticmethod
    def get_cluster_metadata(topics: Optional[Sequence[str]] = None) -> Plan[Dict[str, Any]]:
        args: Dict[str, Any] = {"topics": None if topics is None else _names(topics, "topics", _topic)}
        return "cluster_metadata", args, _cluster

    @staticmethod
    def describe_cluster() -> Plan[Dict[str, Any]]:
        def conv(m: Any) -> Dict[str, Any]:
            out = _cluster(m)
            del out["topics"]
            return out

        return "describe_cluster", {}, conv

    @staticmethod
    def list_brokers() -> Plan[List[Dict[str, Any]]]:
        return "list_brokers", {}, lambda bs: [_broker(b) for b in bs]

    @staticmethod
    def list_topics(include_internal: bool = False) -> Plan[List[str]]:
        if not isinstance(include_internal, bool):
            raise TypeError("include_internal must be bool")
        return "list_topics", {"include_internal": include_internal}, lambda ns: [str(n) for n in ns]

    @staticmethod
    def describe_topic(topic_name: str) -> Plan[Dict[str, Any]]:
        return "describe_topic", {"topic": _topic(topic_name)}, _describe_topic

    @staticmethod
    def get_partition_count(topic_name: str) -> Plan[int]:
        return "partition_count", {"topic": _topic(topic_name)}, int

    @staticmethod
    def get_topic_leaders(topic_name: str) -> Plan[Dict[int, Optional[str]]]:
        return "topic_leaders", {"topic": _topic(topic_name)}, lambda m: {int(p): (a or None) for p, a in sorted(m.items(), key=lambda kv: int(kv[0]))}

    @staticmethod
    def create_topics(new_topics: Sequence[Any], validate_only: bool = False) -> Plan[None]:
        if isinstance(new_topics, (str, NewTopic)) or not isinstance(new_topics, Iterable):
            raise TypeError("new_topics must be a list of NewTopic, dict or str")
        topics = []
        for t in new_topics:
            if isinstance(t, str):
                t = NewTopic(t)
            elif isinstance(t, Mapping):
                t = NewTopic(**t)
            elif not isinstance(t, NewTopic):
                raise TypeError("new_topics items must be NewTopic, dict or str, not %s" % type(t).__name__)
            topics.append(t._json())
        if not topics:
            raise ValueError("new_topics must not be empty")
        if not isinstance(validate_only, bool):
            raise TypeError("validate_only must be bool")
        return "create_topics", {"topics": topics, "validate_only": validate_only}, no_result

    @staticmethod
    def create_topic(name: str, num_partitions: int = 1, replication_factor: int = 1, config: Optional[Mapping[str, Any]] = None) -> Plan[None]:
        return AdminPlans.create_topics([NewTopic(name, num_partitions, replication_factor, config)])

    @staticmethod
    def delete_topics(topics: Sequence[str]) -> Plan[None]:
        return "delete_topics", {"topics": _names(topics, "topics", _topic)}, no_result

    @staticmethod
    def delete_topic(name: str) -> Plan[None]:
        return "delete_topics", {"topics": [_topic(name)]}, no_result

    @staticmethod
    def create_partitions(topic_or_totals: Union[str, Mapping[str, int]], total: Optional[int] = None, validate_only: bool = False) -> Plan[None]:
        if isinstance(topic_or_totals, str):
            if total is None:
                raise TypeError("create_partitions(topic, total): total is required")
            totals = {topic_or_totals: total}
        elif isinstance(topic_or_totals, Mapping):
            if total is not None:
                raise TypeError("give either create_partitions(topic, total) or create_partitions({topic: total})")
            totals = dict(topic_or_totals)
        else:
            raise TypeError("create_partitions takes a topic name and a total, or a dict {topic: total}")
        if not totals:
            raise ValueError("no topics given")
        checked = {_topic(t): _int("partition total", n, 1, 2 ** 31 - 1) for t, n in totals.items()}
        if not isinstance(validate_only, bool):
            raise TypeError("validate_only must be bool")
        return "create_partitions", {"totals": checked, "validate_only": validate_only}, no_result

    @staticmethod
    def describe_configs(resource_type: str, name: Union[str, int], keys: Optional[Sequence[str]] = None) -> Plan[Dict[str, Dict[str, Any]]]:
        rt = _resource(resource_type)
        if isinstance(name, int) and not isinstance(name, bool) and rt in ("broker", "broker_logger"):
            name = str(name)
        if not isinstance(name, str):
            raise TypeError("name must be str, not %s" % type(name).__name__)
        args = {"resource_type": rt, "name": name, "keys": None if keys is None else _names(keys, "keys", _topic)}
        return "describe_configs", args, lambda m: {k: _config_entry(v) for k, v in sorted(m.items())}

    @staticmethod
    def alter_configs(resource_type: str, name: Union[str, int], configs: Mapping[str, Any], validate_only: bool = False) -> Plan[None]:
        rt = _resource(resource_type)
        if isinstance(name, int) and not isinstance(name, bool) and rt in ("broker", "broker_logger"):
            name = str(name)
        if not isinstance(name, str):
            raise TypeError("name must be str, not %s" % type(name).__name__)
        if not isinstance(configs, Mapping) or not configs:
            raise ValueError("configs must be a non-empty dict {name: value | None | (op, value)}")
        ops = []
        for key, value in configs.items():
            _topic(key, "config name")
            if value is None:
                ops.append({"name": key, "op": "delete"})
            elif isinstance(value, tuple):
                if len(value) != 2 or value[0] not in _CONFIG_OPS:
                    raise ValueError("config %r: an operation is (op, value) with op one of %s" % (key, ", ".join(_CONFIG_OPS)))
                op, v = value
                ops.append({"name": key, "op": op, "value": "" if v is None else _config_value(key, v)})
            else:
                ops.append({"name": key, "op": "set", "value": _config_value(key, value)})
        if not isinstance(validate_only, bool):
            raise TypeError("validate_only must be bool")
        return "alter_configs", {"resource_type": rt, "name": name, "ops": ops, "validate_only": validate_only}, no_result

    @staticmethod
    def list_consumer_groups() -> Plan[List[Dict[str, Any]]]:
        return "list_groups", {}, lambda gs: [dict(g, state=g["state"] or None, type=g["type"] or None) for g in gs]

    @staticmethod
    def describe_consumer_groups(group_ids: Sequence[str]) -> Plan[List[Dict[str, Any]]]:
        return "describe_groups", {"groups": _names(group_ids, "group_ids", _group)}, lambda gs: [_group_desc(g) for g in gs]

    @staticmethod
    def describe_consumer_group(group_id: str) -> Plan[Dict[str, Any]]:
        return "describe_groups", {"groups": [_group(group_id)]}, lambda gs: _group_desc(gs[0])

    @staticmethod
    def delete_consumer_groups(group_ids: Sequence[str]) -> Plan[None]:
        return "delete_groups", {"groups": _names(group_ids, "group_ids", _group)}, no_result

    @staticmethod
    def delete_consumer_group(group_id: str) -> Plan[None]:
        return "delete_groups", {"groups": [_group(group_id)]}, no_result

    @staticmethod
    def list_consumer_group_offsets(group_id: str, partitions: Any = None) -> Plan[Dict[str, Dict[int, int]]]:
        return (
            "list_group_offsets",
            {"group": _group(group_id), "partitions": _topic_partitions(partitions)},
            lambda rows: _nested(rows, lambda r: r["offset"]),
        )

    @staticmethod
    def alter_consumer_group_offsets(group_id: str, offsets: Mapping[str, Mapping[int, int]]) -> Plan[None]:
        return "alter_group_offsets", {"group": _group(group_id), "offsets": _offsets_arg(offsets)}, no_result

    @staticmethod
    def delete_consumer_group_offsets(group_id: str, topic: str, partitions: Optional[Sequence[int]] = None) -> Plan[None]:
        args = {"group": _group(group_id), "topic": _topic(topic), "partitions": _partitions(partitions)}
        return "delete_group_offsets", args, no_result

    @staticmethod
    def list_share_groups() -> Plan[List[Dict[str, Any]]]:
        return "list_groups", {"types": ["share"]}, lambda gs: [dict(g, state=g["state"] or None, type=g["type"] or None) for g in gs]

    @staticmethod
    def describe_share_groups(group_ids: Sequence[str]) -> Plan[List[Dict[str, Any]]]:
        return "describe_share_groups", {"groups": _names(group_ids, "group_ids", _group)}, lambda gs: [_share_group_desc(g) for g in gs]

    @staticmethod
    def describe_share_group(group_id: str) -> Plan[Dict[str, Any]]:
        return "describe_share_groups", {"groups": [_group(group_id)]}, lambda gs: _share_group_desc(gs[0])

    @staticmethod
    def list_share_group_offsets(group_id: str, partitions: Any = None) -> Plan[Dict[str, Dict[int, Dict[str, int]]]]:
        def conv(rows: Any) -> Dict[str, Dict[int, Dict[str, int]]]:
            return _nested(rows, lambda r: {"start_offset": r["start_offset"], "leader_epoch": r["leader_epoch"], "lag": r["lag"]})

        return "list_share_group_offsets", {"group": _group(group_id), "partitions": _topic_partitions(partitions)}, conv

    @staticmethod
    def alter_share_group_offsets(group_id: str, offsets: Mapping[str, Mapping[int, int]]) -> Plan[None]:
        return "alter_share_group_offsets", {"group": _group(group_id), "offsets": _offsets_arg(offsets, "start_offset")}, no_result

    @staticmethod
    def delete_share_group_offsets(group_id: str, topics: Sequence[str]) -> Plan[None]:
        return "delete_share_group_offsets", {"group": _group(group_id), "topics": _names(topics, "topics", _topic)}, no_result

    @staticmethod
    def list_offsets(topic: str, partitions: Optional[Sequence[int]] = None, offset_spec: Any = "latest") -> Plan[Dict[int, int]]:
        args = {"topic": _topic(topic), "partitions": _partitions(partitions), "spec": _spec(offset_spec)}
        return "list_offsets", args, lambda m: {int(p): v["offset"] for p, v in sorted(m.items(), key=lambda kv: int(kv[0]))}

    @staticmethod
    def delete_records(topic: str, offsets: Mapping[int, int]) -> Plan[Dict[int, int]]:
        if not isinstance(offsets, Mapping) or not offsets:
            raise ValueError("offsets must be a non-empty dict {partition: offset} (-1 = everything)")
        before = {str(_int("partition", p, 0, 2 ** 31 - 1)): _int("offset", o, -1, 2 ** 63 - 1) for p, o in offsets.items()}
        return "delete_records", {"topic": _topic(topic), "before": before}, lambda m: {int(p): v for p, v in m.items()}

    @staticmethod
    def consumer_lag(group_id: str) -> Plan[Dict[str, Dict[int, Dict[str, int]]]]:
        def conv(rows: Any) -> Dict[str, Dict[int, Dict[str, int]]]:
            return _nested(
                rows,
                lambda r: {"committed_offset": r["committed_offset"], "log_end_offset": r["log_end_offset"], "lag": r["lag"]},
            )

        return "consumer_lag", {"group": _group(group_id)}, conv


def admin_config(
    brokers: str,
    client_id: str,
    timeout: Any,
    security: SecurityOptions,
    retry_policy: Optional[RetryPolicy],
    connection_pool: Any,
    config: Optional[Dict[str, Any]] = None,
) -> Tuple[bytes, int]:
    """The configuration string of an admin client, and its timeout in ms."""
    timeout_ms = max(1, _native.timeout_ms(timeout))
    cfg: Dict[str, Any] = {
        "bootstrap.servers": brokers,
        "client.id": client_id,
        "connect.timeout.ms": timeout_ms,
        "request.timeout.ms": timeout_ms,
        "connection.pool": pool_config(connection_pool),
    }
    cfg.update(security.config())  # TLS / SASL keys (gofka._security)
    policy = check_policy(retry_policy)
    if policy is not None:
        cfg.update(policy.to_config())
    merge_config(cfg, config)
    return _native.encode_config(cfg), timeout_ms


class AdminKeywords(SecurityKeywords, StatsKeywords, total=False):
    """The keyword-only arguments of AdminClient and AsyncAdminClient
    (documented on AdminClient), with the TLS/SASL and statistics ones:
    ``**keywords: Unpack[AdminKeywords]`` in both constructors. Defaults:
    ADMIN_KEYWORDS."""

    retry_policy: Optional[RetryPolicy]
    connection_pool: Any
    config: Optional[Dict[str, Any]]


#: AdminKeywords with their defaults (all None but the statistics' interval).
ADMIN_KEYWORDS: KeywordGroup = KeywordGroup(AdminKeywords, SECURITY_KEYWORDS, STATS_KEYWORDS)


class AdminBase(HandleBase, ConnectedFlag):
    """Options, validation, the native handle and the start of every call
    of AdminClient and AsyncAdminClient (their constructors' arguments are
    documented there). Each subclass only waits: ``_run(op, args,
    convert)`` with a plan of AdminPlans."""

    _kind = "admin client"
    _public_name = "AdminClient"  # for repr

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        """``arguments``: the subclass constructor's ``locals()`` (brokers,
        client_id, timeout and ADMIN_KEYWORDS with use_ssl, validated
        here)."""
        super().__init__()
        self._security = security = client_security(arguments)  # _take_handle stops its token refresh
        on_stats = arguments["on_stats"]
        stats_every = _stats.check_stats_options(arguments["stats_interval_ms"], on_stats)
        self.brokers = validate_brokers(arguments["brokers"])
        self.client_id = validate_client_id(arguments["client_id"])
        self.timeout = validate_timeout(arguments["timeout"])
        self.use_ssl = security.use_ssl
        self.security_protocol = security.security_protocol
        self.retry_policy = retry_policy = arguments["retry_policy"]
        self.connection_pool = connection_pool = arguments["connection_pool"]
        encoded, self._timeout_ms = admin_config(
            self.brokers, self.client_id, self.timeout, security, retry_policy, connection_pool, arguments["config"])
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_admin_new(encoded, byref(handle), byref(err)), err)
        self._set_handle(handle.value)
        security.attach(self)
        self._stats_reporter = _stats.start_reporter(self, stats_every, on_stats, "admin")

    def stats(self) -> Dict[str, Any]:
        """A snapshot of the admin client's statistics as a dict: per broker
        connection statistics; fields in docs/statistics.md. Plain, also on
        AsyncAdminClient (not a coroutine): it never waits on the network,
        so it does not block an event loop. Raises GofkaError CLIENT_CLOSED
        once closed. The constructor keywords ``stats_interval_ms`` and
        ``on_stats`` report it periodically (see gofka._stats)."""
        return _stats.snapshot(self, _native.lib.gofka_admin_stats)

    def __repr__(self) -> str:
        return "<gofka.%s brokers=%r%s>" % (self._public_name, self.brokers, " closed" if self.closed else "")

    def _start(self, op: str, args: Dict[str, Any]) -> Callable[[int, int], None]:
        """The start of one admin call on an event queue: ``start(queue,
        token)`` posts its completion there (the subclass waits for it)."""
        handle = self._get()
        op_b, args_b = op.encode(), json.dumps(args).encode()
        timeout_ms = self._timeout_ms

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            code = _native.lib.gofka_admin_call_async(handle, queue, token, op_b, args_b, timeout_ms, byref(err))
            if code != _native.OK:
                raise self._failure(code, err)

        return start

    @staticmethod
    def _result(ev: Event, convert: Callable[[Any], ResultT]) -> ResultT:
        """The converted JSON result of a completed call."""
        return convert(json.loads(ev.payload.decode("utf-8")))

    def _destroy(self, raise_errors: bool = True) -> None:
        """The close of AdminClient and AsyncAdminClient alike (the engine's
        admin close does not wait for the network): _destroy_handle with
        gofka_admin_close (idempotent; the async client's bridge is closed
        too)."""
        self._destroy_handle(_native.lib.gofka_admin_close, raise_errors=raise_errors)
