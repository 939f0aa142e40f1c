"""Asynchronous admin client (asyncio).

Every method starts one asynchronous library call
(``gofka_admin_call_async``) and awaits its completion event through the
AsyncBridge: nothing blocks the event loop and no Python code runs on a Go
thread. Methods, arguments and results are those of
:class:`gofka.admin.AdminClient`: both take their plans, options and handle
from :class:`gofka._admin_base.AdminBase`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _security
from ._admin_base import ADMIN_KEYWORDS, AdminBase, AdminKeywords, NewTopic, ResultT, no_result
from ._admin_base import AdminPlans as _Plans  # the plans of every method, short
from ._bridge import AsyncBridge, bridge_of_loop
from ._client import AsyncHandleOwner
from ._keywords import Unpack, takes_keywords
from .exceptions import MetadataError, argument_errors

__all__ = ["AsyncAdminClient"]


class AsyncAdminClient(AdminBase, AsyncHandleOwner):
    """Cluster administration for asyncio code.

    Args:
        brokers: comma-separated bootstrap brokers, tried in order.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds.
        use_ssl: connect over TLS.
        ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password,
        ssl_check_hostname, security_protocol, sasl_mechanism, sasl_username,
        sasl_password, sasl_oauth_token_provider: TLS and SASL (keyword;
            see docs/security.md and gofka._security).
        security: the same TLS/SASL options as one :class:`gofka.SecuritySettings`
            (keyword; instead of those keywords, not with them).
        retry_policy: how the engine retries retriable failures (keyword).
        connection_pool: a :class:`~gofka.pool.ConnectionPool` whose broker
            connections this client shares (keyword).
        config: a dict of further Kafka property names to values (keyword;
            docs/configuration.md), as for the consumers; its keys win over
            those the other arguments make.

    Usable with ``async with`` (which connects). The native client is
    created in the constructor without network I/O. A client may be used
    from one event loop at a time.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own, also for this asyncio client (never on
    the event loop); see gofka._stats.
    """

    _public_name = "AsyncAdminClient"  # for repr

    @takes_keywords(ADMIN_KEYWORDS)
    @argument_errors(MetadataError)  # invalid arguments: MetadataValueError / MetadataTypeError
    def __init__(
        self,
        brokers: str,
        client_id: str = "gofka-python-async-admin",
        timeout: int = 30,
        use_ssl: bool = False,
        **keywords: Unpack[AdminKeywords],
    ) -> None:
        self._bridge: Optional[AsyncBridge] = None
        super().__init__(ADMIN_KEYWORDS.arguments("AsyncAdminClient", locals(), keywords))  # validated there: AdminBase

    def _get_bridge(self) -> AsyncBridge:
        self._bridge = bridge = bridge_of_loop(self, self._bridge)
        return bridge

    async def _run(self, op: str, args: Dict[str, Any], convert: Callable[[Any], ResultT]) -> ResultT:
        ev = await self._get_bridge().submit(self._start(op, args))
        return self._result(ev, convert)

    async def connect(self) -> None:
        """Reaches the cluster now (optional: every method connects on
        demand). Raises ConnectionError when no broker answers."""
        await self._run("list_brokers", {}, no_result)
        self._connected = True


    # Metadata

    async def get_cluster_metadata(self, topics: Optional[List[str]] = None) -> Dict[str, Any]:
        """See AdminClient.get_cluster_metadata."""
        return await self._run(*_Plans.get_cluster_metadata(topics))

    async def list_brokers(self) -> List[Dict[str, Any]]:
        """See AdminClient.list_brokers."""
        return await self._run(*_Plans.list_brokers())

    async def list_topics(self, include_internal: bool = False) -> List[str]:
        """See AdminClient.list_topics."""
        return await self._run(*_Plans.list_topics(include_internal))

    async def describe_topic(self, topic_name: str) -> Dict[str, Any]:
        """See AdminClient.describe_topic."""
        return await self._run(*_Plans.describe_topic(topic_name))

    async def get_partition_count(self, topic_name: str) -> int:
        """The number of partitions of a topic."""
        return await self._run(*_Plans.get_partition_count(topic_name))

    async def get_topic_leaders(self, topic_name: str) -> Dict[int, Optional[str]]:
        """{partition: "host:port" of its leader (None when leaderless)}."""
        return await self._run(*_Plans.get_topic_leaders(topic_name))

    async def describe_cluster(self) -> Dict[str, Any]:
        """See AdminClient.describe_cluster."""
        return await self._run(*_Plans.describe_cluster())

    # Topics and partitions

    async def create_topic(
        self, name: str, num_partitions: int = 1, replication_factor: int = 1, config: Optional[Dict[str, Any]] = None
    ) -> None:
        """See AdminClient.create_topic."""
        await self._run(*_Plans.create_topic(name, num_partitions, replication_factor, config))

    async def create_topics(self, new_topics: Sequence[Union[NewTopic, Dict[str, Any], str]], validate_only: bool = False) -> None:
        """See AdminClient.create_topics."""
        await self._run(*_Plans.create_topics(new_topics, validate_only))

    async def delete_topic(self, name: str) -> None:
        """See AdminClient.delete_topic."""
        await self._run(*_Plans.delete_topic(name))

    async def delete_topics(self, topics: Sequence[str]) -> None:
        """See AdminClient.delete_topics."""
        await self._run(*_Plans.delete_topics(topics))

    async def create_partitions(
        self, topic_or_totals: Union[str, Dict[str, int]], total: Optional[int] = None, validate_only: bool = False
    ) -> None:
        """See AdminClient.create_partitions."""
        await self._run(*_Plans.create_partitions(topic_or_totals, total, validate_only))

    # Configs

    async def describe_configs(
        self, resource_type: str, name: Union[str, int], keys: Optional[List[str]] = None
    ) -> Dict[str, Dict[str, Any]]:
        """See AdminClient.describe_configs."""
        return await self._run(*_Plans.describe_configs(resource_type, name, keys))

    async def alter_configs(
        self, resource_type: str, name: Union[str, int], configs: Dict[str, Any], validate_only: bool = False
    ) -> None:
        """See AdminClient.alter_configs."""
        await self._run(*_Plans.alter_configs(resource_type, name, configs, validate_only))

    # Consumer groups

    async def list_consumer_groups(self) -> List[Dict[str, Any]]:
        """See AdminClient.list_consumer_groups."""
        return await self._run(*_Plans.list_consumer_groups())

    async def describe_consumer_groups(self, group_ids: List[str]) -> List[Dict[str, Any]]:
        """See AdminClient.describe_consumer_groups."""
        return await self._run(*_Plans.describe_consumer_groups(group_ids))

    async def describe_consumer_group(self, group_id: str) -> Dict[str, Any]:
        """See AdminClient.describe_consumer_group."""
        return await self._run(*_Plans.describe_consumer_group(group_id))

    async def delete_consumer_groups(self, group_ids: List[str]) -> None:
        """See AdminClient.delete_consumer_groups."""
        await self._run(*_Plans.delete_consumer_groups(group_ids))

    async def delete_consumer_group(self, group_id: str) -> None:
        """See AdminClient.delete_consumer_group."""
        await self._run(*_Plans.delete_consumer_group(group_id))

    async def list_consumer_group_offsets(self, group_id: str, partitions: Any = None) -> Dict[str, Dict[int, int]]:
        """See AdminClient.list_consumer_group_offsets."""
        return await self._run(*_Plans.list_consumer_group_offsets(group_id, partitions))

    async def alter_consumer_group_offsets(self, group_id: str, offsets: Dict[str, Dict[int, int]]) -> None:
        """See AdminClient.alter_consumer_group_offsets."""
        await self._run(*_Plans.alter_consumer_group_offsets(group_id, offsets))

    async def delete_consumer_group_offsets(self, group_id: str, topic: str, partitions: Optional[List[int]] = None) -> None:
        """See AdminClient.delete_consumer_group_offsets."""
        await self._run(*_Plans.delete_consumer_group_offsets(group_id, topic, partitions))

    # Share groups (KIP-932)

    async def list_share_groups(self) -> List[Dict[str, Any]]:
        """See AdminClient.list_share_groups."""
        return await self._run(*_Plans.list_share_groups())

    async def describe_share_groups(self, group_ids: List[str]) -> List[Dict[str, Any]]:
        """See AdminClient.describe_share_groups."""
        return await self._run(*_Plans.describe_share_groups(group_ids))

    async def describe_share_group(self, group_id: str) -> Dict[str, Any]:
        """See AdminClient.describe_share_group."""
        return await self._run(*_Plans.describe_share_group(group_id))

    async def list_share_group_offsets(self, group_id: str, partitions: Any = None) -> Dict[str, Dict[int, Dict[str, int]]]:
        """See AdminClient.list_share_group_offsets."""
        return await self._run(*_Plans.list_share_group_offsets(group_id, partitions))

    async def alter_share_group_offsets(self, group_id: str, offsets: Dict[str, Dict[int, int]]) -> None:
        """See AdminClient.alter_share_group_offsets."""
        await self._run(*_Plans.alter_share_group_offsets(group_id, offsets))

    async def delete_share_group_offsets(self, group_id: str, topics: List[str]) -> None:
        """See AdminClient.delete_share_group_offsets."""
        await self._run(*_Plans.delete_share_group_offsets(group_id, topics))

    # Offsets and records

    async def list_offsets(self, topic: str, partitions: Optional[List[int]] = None, offset_spec: Any = "latest") -> Dict[int, int]:
        """See AdminClient.list_offsets."""
        return await self._run(*_Plans.list_offsets(topic, partitions, offset_spec))

    async def delete_records(self, topic: str, offsets: Dict[int, int]) -> Dict[int, int]:
        """See AdminClient.delete_records."""
        return await self._run(*_Plans.delete_records(topic, offsets))

    async def consumer_lag(self, group_id: str) -> Dict[str, Dict[int, Dict[str, int]]]:
        """See AdminClient.consumer_lag."""
        return await self._run(*_Plans.consumer_lag(group_id))

    async def describe_user_scram_credentials(self, users: Optional[Sequence[str]] = None) -> Dict[str, List[Dict[str, Any]]]:
        """See AdminClient.describe_user_scram_credentials."""
        return await self._run(*_security.describe_user_scram_credentials_plan(users))

    async def alter_user_scram_credentials(self, upsertions: Optional[Sequence[Mapping[str, Any]]] = None,
                                           deletions: Optional[Sequence[Mapping[str, Any]]] = None) -> None:
        """See AdminClient.alter_user_scram_credentials."""
        await self._run(*_security.alter_user_scram_credentials_plan(upsertions, deletions))

    # Lifecycle

    # Closing is AdminClient's (AdminBase._destroy: it does not wait), from
    # any thread or loop; ``async with`` and the finalizer are every async
    # client's (_client.AsyncHandleOwner).

    def _owned_bridges(self) -> List[AsyncBridge]:
        with self._lock:
            bridge, self._bridge = self._bridge, None
        return [bridge] if bridge is not None else []

    async def close(self) -> None:
        """Closes the client; operations still running fail with
        CLIENT_CLOSED. Idempotent."""
        self._destroy()

    def _finalize(self) -> None:
        self._destroy(raise_errors=False)
