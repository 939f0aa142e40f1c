"""Synchronous admin client.

The plans of its methods (operation, JSON arguments, result conversion),
its options and its handle are shared with :mod:`gofka.async_admin`
through :class:`gofka._admin_base.AdminBase`; this class waits for each
call in the calling thread (sliced, so Ctrl-C interrupts it promptly).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _security
from ._admin_base import (ADMIN_KEYWORDS, OFFSET_SPECS, RESOURCE_TYPES, AdminBase, AdminKeywords, NewTopic, ResultT,
                          no_result)
from ._admin_base import AdminPlans as _Plans  # the plans of every method, short
from ._bridge import call_sliced
from ._client import HandleOwner
from ._keywords import Unpack, takes_keywords
from .exceptions import MetadataError, argument_errors

__all__ = ["AdminClient", "NewTopic", "RESOURCE_TYPES", "OFFSET_SPECS"]


class AdminClient(HandleOwner, AdminBase):
    """Cluster administration: metadata, topics, partitions, configs,
    consumer groups and their offsets, log offsets and records.

    Args:
        brokers: comma-separated bootstrap brokers, tried in order.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds; each method
            call is bounded by it.
        use_ssl: connect over TLS (also positional, as for AsyncAdminClient).
        ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password,
        ssl_check_hostname, security_protocol, sasl_mechanism, sasl_username,
        sasl_password, sasl_oauth_token_provider: TLS and SASL (keyword;
            see docs/security.md and gofka._security).
        security: the same TLS/SASL options as one :class:`gofka.SecuritySettings`
            (keyword; instead of those keywords, not with them).
        retry_policy: how the engine retries retriable failures (keyword;
            default the engine's: 3 retries, 100 ms doubling, jitter).
        connection_pool: a :class:`~gofka.pool.ConnectionPool` whose broker
            connections this client shares (keyword).
        config: a dict of further Kafka property names to values (keyword;
            docs/configuration.md), as for the consumers; its keys win over
            those the other arguments make.

    The native client is created in the constructor without network I/O;
    each method connects on demand. Methods raise the gofka.exceptions
    class of the error (e.g. MetadataError for an unknown topic). Methods
    that change the cluster return once the change shows in the cluster
    metadata. Thread-safe.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own; see gofka._stats.
    """

    @takes_keywords(ADMIN_KEYWORDS)
    @argument_errors(MetadataError)  # invalid arguments: MetadataValueError / MetadataTypeError
    def __init__(
        self,
        brokers: str,
        client_id: str = "gofka-python-admin",
        timeout: int = 30,
        use_ssl: bool = False,
        **keywords: Unpack[AdminKeywords],
    ) -> None:
        super().__init__(ADMIN_KEYWORDS.arguments("AdminClient", locals(), keywords))  # validated there: AdminBase

    def _run(self, op: str, args: Dict[str, Any], convert: Callable[[Any], ResultT]) -> ResultT:
        # Through the event queue rather than the blocking gofka_admin_call,
        # so the wait is sliced and Ctrl-C interrupts it promptly.
        return self._result(call_sliced(self._start(op, args)), convert)

    def connect(self) -> None:
        """Reaches the cluster now (optional: every method connects on
        demand). Raises ConnectionError when no broker answers."""
        self._run("list_brokers", {}, no_result)
        self._connected = True


    # Metadata (the documented methods first)

    def get_cluster_metadata(self, topics: Optional[List[str]] = None) -> Dict[str, Any]:
        """Cluster metadata: ``cluster_id``, ``controller_id``,
        ``controller`` (broker dict or None), ``brokers`` and ``topics``
        (all, internal included, when ``topics`` is None), each topic with
        ``name``, ``topic_id``, ``internal``, ``error`` (None or the error
        name, e.g. for a topic that does not exist) and ``partitions``
        (``partition``, ``leader`` node id, ``leader_addr``, ``replicas``,
        ``isr``, ``offline_replicas``, ``error``). Never creates topics."""
        return self._run(*_Plans.get_cluster_metadata(topics))

    def list_brokers(self) -> List[Dict[str, Any]]:
        """Brokers as dicts with ``id``, ``host``, ``port``, ``rack`` (None
        when unset) and ``addr`` ("host:port"), sorted by id."""
        return self._run(*_Plans.list_brokers())

    def list_topics(self, include_internal: bool = False) -> List[str]:
        """Topic names, sorted; internal topics (``__consumer_offsets``,
        ...) only with ``include_internal=True``."""
        return self._run(*_Plans.list_topics(include_internal))

    def describe_topic(self, topic_name: str) -> Dict[str, Any]:
        """A topic's ``name``, ``topic_id``, ``internal``, ``partitions``
        (as in get_cluster_metadata), ``leaders`` ({partition: "host:port"}),
        ``configs`` ({name: value}) and ``config_entries`` ({name: {value,
        source, is_default, read_only, sensitive}}). An unknown topic is
        MetadataError (UNKNOWN_TOPIC_OR_PARTITION)."""
        return self._run(*_Plans.describe_topic(topic_name))

    def get_partition_count(self, topic_name: str) -> int:
        """The number of partitions of a topic."""
        return self._run(*_Plans.get_partition_count(topic_name))

    def get_topic_leaders(self, topic_name: str) -> Dict[int, Optional[str]]:
        """{partition: "host:port" of its leader (None when leaderless)}."""
        return self._run(*_Plans.get_topic_leaders(topic_name))

    def describe_cluster(self) -> Dict[str, Any]:
        """``cluster_id``, ``controller_id``, ``controller`` and ``brokers``
        from the DescribeCluster API (the active controller on KRaft)."""
        return self._run(*_Plans.describe_cluster())

    # Topics and partitions

    def create_topic(
        self, name: str, num_partitions: int = 1, replication_factor: int = 1, config: Optional[Dict[str, Any]] = None
    ) -> None:
        """Creates a topic and returns once every partition has a leader.
        An existing topic is MetadataError (TOPIC_ALREADY_EXISTS)."""
        self._run(*_Plans.create_topic(name, num_partitions, replication_factor, config))

    def create_topics(self, new_topics: Sequence[Union[NewTopic, Dict[str, Any], str]], validate_only: bool = False) -> None:
        """Creates several topics (NewTopic objects, dicts of NewTopic's
        arguments, or names). Each is created independently; when some fail
        the first failure (by name) is raised after the others are created."""
        self._run(*_Plans.create_topics(new_topics, validate_only))

    def delete_topic(self, name: str) -> None:
        """Deletes a topic and returns once the metadata no longer lists it."""
        self._run(*_Plans.delete_topic(name))

    def delete_topics(self, topics: Sequence[str]) -> None:
        """Deletes several topics (see delete_topic; failures as in
        create_topics)."""
        self._run(*_Plans.delete_topics(topics))

    def create_partitions(
        self, topic_or_totals: Union[str, Dict[str, int]], total: Optional[int] = None, validate_only: bool = False
    ) -> None:
        """Raises the partition count: ``create_partitions("t", 6)`` or
        ``create_partitions({"t": 6, "u": 3})`` (new totals, not
        increments); returns once the metadata shows them."""
        self._run(*_Plans.create_partitions(topic_or_totals, total, validate_only))

    # Configs

    def describe_configs(
        self, resource_type: str, name: Union[str, int], keys: Optional[List[str]] = None
    ) -> Dict[str, Dict[str, Any]]:
        """Configuration of a resource (``"topic"``, ``"broker"`` (name = node
        id), ``"broker_logger"``, ``"group"``, ``"client_metrics"``):
        {key: {value, source, is_default, read_only, sensitive}}; ``keys``
        limits the keys."""
        return self._run(*_Plans.describe_configs(resource_type, name, keys))

    def alter_configs(
        self, resource_type: str, name: Union[str, int], configs: Dict[str, Any], validate_only: bool = False
    ) -> None:
        """Changes configuration keys incrementally (others keep their
        values): ``{key: value}`` sets, ``{key: None}`` reverts to the
        default, ``{key: ("append" | "subtract", value)}`` edits a list
        value. Brokers apply changes asynchronously (a describe right after
        may briefly show the old value)."""
        self._run(*_Plans.alter_configs(resource_type, name, configs, validate_only))

    # Consumer groups

    def list_consumer_groups(self) -> List[Dict[str, Any]]:
        """Groups of the cluster: ``group_id``, ``protocol_type``,
        ``state`` and ``type`` (None when the broker does not say)."""
        return self._run(*_Plans.list_consumer_groups())

    def describe_consumer_groups(self, group_ids: List[str]) -> List[Dict[str, Any]]:
        """Per group: ``group_id``, ``state``, ``type`` ("classic",
        "consumer" or "share": describe_share_groups tells more of a share
        group), ``protocol_type``, ``protocol``, ``coordinator`` and
        ``members`` (``member_id``, ``group_instance_id``, ``client_id``,
        ``client_host``, ``assignment`` {topic: [partitions]}). An unknown
        group is GroupCoordinationError (GROUP_ID_NOT_FOUND)."""
        return self._run(*_Plans.describe_consumer_groups(group_ids))

    def describe_consumer_group(self, group_id: str) -> Dict[str, Any]:
        """describe_consumer_groups for one group."""
        return self._run(*_Plans.describe_consumer_group(group_id))

    def delete_consumer_groups(self, group_ids: List[str]) -> None:
        """Deletes groups, share groups too (they must have no active
        members)."""
        self._run(*_Plans.delete_consumer_groups(group_ids))

    def delete_consumer_group(self, group_id: str) -> None:
        """Deletes one group."""
        self._run(*_Plans.delete_consumer_group(group_id))

    def list_consumer_group_offsets(self, group_id: str, partitions: Any = None) -> Dict[str, Dict[int, int]]:
        """Committed offsets {topic: {partition: offset}} of a group, for
        every partition it committed or for ``partitions`` (a list of
        (topic, partition) or a dict {topic: [partitions]}; -1 = none)."""
        return self._run(*_Plans.list_consumer_group_offsets(group_id, partitions))

    def alter_consumer_group_offsets(self, group_id: str, offsets: Dict[str, Dict[int, int]]) -> None:
        """Sets committed offsets {topic: {partition: offset}} of a group
        that has no active members (creating it when it does not exist)."""
        self._run(*_Plans.alter_consumer_group_offsets(group_id, offsets))

    def delete_consumer_group_offsets(self, group_id: str, topic: str, partitions: Optional[List[int]] = None) -> None:
        """Deletes a group's committed offsets of ``topic`` (all its
        partitions when ``partitions`` is None)."""
        self._run(*_Plans.delete_consumer_group_offsets(group_id, topic, partitions))

    # Share groups (KIP-932)

    def list_share_groups(self) -> List[Dict[str, Any]]:
        """The share groups of the cluster, as list_consumer_groups lists
        groups (``type`` "share"). Needs a broker with ListGroups v5 (Kafka
        3.8+; share groups need 4.1+), else GofkaError
        (UNSUPPORTED_VERSION_LOCAL)."""
        return self._run(*_Plans.list_share_groups())

    def describe_share_groups(self, group_ids: List[str]) -> List[Dict[str, Any]]:
        """Per share group: ``group_id``, ``state`` ("Empty", "Stable",
        ...), ``group_epoch``, ``assignment_epoch``, ``assignor``,
        ``coordinator`` and ``members`` (``member_id``, ``rack_id`` (None
        when unset), ``client_id``, ``client_host``, ``member_epoch``,
        ``subscribed_topics``, ``assignment`` {topic: [partitions]}). A
        group that does not exist or is not a share group is
        GroupCoordinationError (GROUP_ID_NOT_FOUND)."""
        return self._run(*_Plans.describe_share_groups(group_ids))

    def describe_share_group(self, group_id: str) -> Dict[str, Any]:
        """describe_share_groups for one group."""
        return self._run(*_Plans.describe_share_group(group_id))

    def list_share_group_offsets(self, group_id: str, partitions: Any = None) -> Dict[str, Dict[int, Dict[str, int]]]:
        """{topic: {partition: {start_offset, leader_epoch, lag}}} of a
        share group, for every partition it has state for or for
        ``partitions`` (as list_consumer_group_offsets takes them). The
        start offset is the first record not yet delivered and
        acknowledged; -1 when the group has no state for the partition.
        ``lag`` is -1 when the broker does not report it (before Kafka
        4.2)."""
        return self._run(*_Plans.list_share_group_offsets(group_id, partitions))

    def alter_share_group_offsets(self, group_id: str, offsets: Dict[str, Dict[int, int]]) -> None:
        """Sets the start offsets {topic: {partition: offset}} of a share
        group that has no members (else GroupCoordinationError
        NON_EMPTY_GROUP), creating it when it does not exist."""
        self._run(*_Plans.alter_share_group_offsets(group_id, offsets))

    def delete_share_group_offsets(self, group_id: str, topics: List[str]) -> None:
        """Deletes a share group's state for ``topics`` (every partition);
        the group must have no members (NON_EMPTY_GROUP). Delete a whole
        share group with delete_consumer_groups."""
        self._run(*_Plans.delete_share_group_offsets(group_id, topics))

    # Offsets and records

    def list_offsets(self, topic: str, partitions: Optional[List[int]] = None, offset_spec: Any = "latest") -> Dict[int, int]:
        """{partition: offset} for ``offset_spec`` ``"earliest"`` (log start),
        ``"latest"`` (high watermark: the next offset), ``"max_timestamp"``,
        or a timestamp (seconds since the epoch, or a datetime): the first
        offset whose record timestamp is at or after it (-1 when none)."""
        return self._run(*_Plans.list_offsets(topic, partitions, offset_spec))

    def delete_records(self, topic: str, offsets: Dict[int, int]) -> Dict[int, int]:
        """Deletes the records before ``offsets[partition]`` (-1 = all) and
        returns {partition: new low watermark}."""
        return self._run(*_Plans.delete_records(topic, offsets))

    def consumer_lag(self, group_id: str) -> Dict[str, Dict[int, Dict[str, int]]]:
        """{topic: {partition: {committed_offset, log_end_offset, lag}}} for
        every partition the group committed."""
        return self._run(*_Plans.consumer_lag(group_id))

    # SCRAM users (plans in gofka._security)

    def describe_user_scram_credentials(self, users: Optional[Sequence[str]] = None) -> Dict[str, List[Dict[str, Any]]]:
        """SCRAM credentials by user: ``{user: [{"mechanism":
        "SCRAM-SHA-256", "iterations": 4096}, ...]}`` for ``users`` (None =
        every user that has one). Never returns secrets. A named user
        without credentials raises GofkaError (RESOURCE_NOT_FOUND)."""
        return self._run(*_security.describe_user_scram_credentials_plan(users))

    def alter_user_scram_credentials(self, upsertions: Optional[Sequence[Mapping[str, Any]]] = None,
                                     deletions: Optional[Sequence[Mapping[str, Any]]] = None) -> None:
        """Creates/updates (``upsertions``: dicts with ``user``,
        ``mechanism`` "SCRAM-SHA-256"/"SCRAM-SHA-512", ``password``,
        optional ``iterations`` 4096..16384 (default 4096) and ``salt``)
        and deletes (``deletions``: dicts with ``user``, ``mechanism``)
        SCRAM credentials. The password is salted and hashed locally and
        never sent. The request goes to the controller (retried after a
        metadata refresh on NOT_CONTROLLER). Returns once every broker
        knows the change; raises the first user's error (the other changes
        are applied)."""
        self._run(*_security.alter_user_scram_credentials_plan(upsertions, deletions))

    def close(self) -> None:
        """Closes the client. Idempotent. (``with`` and the finalizer:
        _client.HandleOwner.)"""
        self._destroy()
