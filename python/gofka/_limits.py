"""Length limits of strings that the engine sends as Kafka STRINGs.

A Kafka STRING has an int16 length, so no such field may exceed 32,767
bytes of UTF-8. The engine refuses longer ones too (INVALID_ARGUMENT), but
Python callers get the ValueError every other bad argument gets, naming the
keyword argument. Topic names have their own rules (checked by the engine:
INVALID_TOPIC_EXCEPTION).
"""

from __future__ import annotations

from typing import Dict

MAX_STRING_BYTES = 32767

# Configuration keys whose values go into requests as STRINGs, with the
# keyword argument that sets them.
_STRING_KEYS: Dict[str, str] = {
    "client.id": "client_id",
    "group.id": "group_id",
    "group.instance.id": "group_instance_id",
    "group.remote.assignor": "group_remote_assignor",
    "client.rack": "client_rack",
    "sasl.username": "sasl_username",
    "partition.assignment.strategy": "partition_assignment_strategy",
}


def check_string(what: str, value: str) -> str:
    """Returns value, or raises ValueError when its UTF-8 form is longer
    than a Kafka STRING allows."""
    n = len(value)
    if n > MAX_STRING_BYTES // 4:  # only long strings need encoding to measure
        n = len(value.encode("utf-8", "surrogatepass"))
    if n > MAX_STRING_BYTES:
        raise ValueError("%s is %d bytes long (UTF-8); Kafka allows at most %d" % (what, n, MAX_STRING_BYTES))
    return value


def check_config_string(key: str, text: str) -> None:
    """Raises ValueError when the configuration value text of key (one of
    the STRING settings; a list setting is checked item by item) is too
    long."""
    arg = _STRING_KEYS.get(key)
    if arg is None:
        return
    if key == "partition.assignment.strategy":
        for item in text.split(","):
            check_string(arg + " item", item.strip())
        return
    check_string(arg, text)
