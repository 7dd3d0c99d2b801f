"""Who may do what on Kafka: one user per component, least privilege (pure).

The grants name the project's topics under the deployment's prefix. Agents may only write what
they capture and their heartbeats, and read the policy and the consent ledger; the stream worker,
the sink and the operators' tools get what they use and nothing else. The administrator (a
super user of the brokers) provisions topics and applies these grants (``teachstream acl apply``).
READ and WRITE on a topic imply DESCRIBE; WRITE on a topic lets an idempotent producer start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

USERS = ("agent", "streams", "sink", "ops")  # besides the administrator
CONTROL_TOPICS = ("control.policy", "control.consent", "control.erasure")
FOLLOWER_GROUPS = "teachstream-follow-"  # prefix: every process following the control topics
TOOL_GROUPS = "teachstream-"  # prefix: the operators' tools (tail, lag, fleet, admin, demo)


@dataclass(frozen=True, order=True)
class Grant:
    """``user`` may do ``operation`` on the ``resource`` (topic, group) named ``name`` (a prefix if ``prefixed``)."""

    user: str
    resource: str
    name: str
    operation: str
    prefixed: bool = False


def grants(
    topic_prefix: str = "",
    streams_app_id: str = "teachstream-streams",
    sink_group: str = "teachstream-sink",
    user_prefix: str = "",
) -> list[Grant]:
    """Every grant of every component, for topics under ``topic_prefix``; the users are named
    ``user_prefix`` + agent, streams, sink, ops (Kubernetes: ``teachstream-agent``, ...)."""

    def topics(user: str, operation: str, names: Iterable[str]) -> list[Grant]:
        return [Grant(user, "topic", f"{topic_prefix}{name}", operation) for name in names]

    followers = [Grant(user, "group", FOLLOWER_GROUPS, "READ", True) for user in USERS]
    return sorted(
        replace(g, user=user_prefix + g.user)
        for g in [
            *topics("agent", "WRITE", ("interactions.raw", "screens.raw", "agents.heartbeat", "control.consent")),
            *topics("agent", "READ", ("control.policy", "control.consent")),
            *topics("streams", "READ", ("interactions.raw", "screens.raw", "screens.clean", *CONTROL_TOPICS)),
            # the clock's ticks go into interactions.raw; frames and clean records out
            *topics(
                "streams",
                "WRITE",
                ("interactions.raw", "interactions.clean", "screens.clean", "trajectories", "deadletter"),
            ),
            # the faust app's own topics (table changelogs, the assignor's) and groups: its app id is their prefix
            Grant("streams", "topic", streams_app_id, "ALL", True),
            Grant("streams", "group", streams_app_id, "ALL", True),
            *topics("sink", "READ", ("trajectories", "screens.clean", "control.consent", "control.erasure")),
            *topics("sink", "WRITE", ("deadletter",)),
            Grant("sink", "group", sink_group, "READ"),
            # operators read every topic (lag, tail, fleet), publish the control records, describe every group
            Grant("ops", "topic", topic_prefix or "*", "READ", bool(topic_prefix)),
            Grant("ops", "topic", topic_prefix or "*", "DESCRIBE_CONFIGS", bool(topic_prefix)),
            *topics("ops", "WRITE", CONTROL_TOPICS),
            Grant("ops", "group", "*", "DESCRIBE"),
            Grant("ops", "group", TOOL_GROUPS, "READ", True),
            *followers,
        ]
    )


STRIMZI_OPERATIONS = {
    "READ": "Read",
    "WRITE": "Write",
    "DESCRIBE": "Describe",
    "DESCRIBE_CONFIGS": "DescribeConfigs",
    "ALL": "All",
}


def strimzi_users(all_grants: list[Grant], admin: str, cluster: str = "teachstream") -> list[dict[str, object]]:
    """The grants as Strimzi ``KafkaUser`` resources (SCRAM-SHA-512; Strimzi keeps each password in a
    Secret named like the user), one per user, and ``admin`` without ACLs: it must be one of the Kafka
    resource's super users (it provisions; it is no component's user)."""
    users: dict[str, list[Grant]] = {}
    for g in all_grants:
        users.setdefault(g.user, []).append(g)
    administrator: dict[str, object] = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": {"name": admin, "labels": {"strimzi.io/cluster": cluster}},
        "spec": {"authentication": {"type": "scram-sha-512"}},
    }
    return [administrator] + [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaUser",
            "metadata": {"name": user, "labels": {"strimzi.io/cluster": cluster}},
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "resource": {
                                "type": g.resource,
                                "name": g.name,
                                "patternType": "prefix" if g.prefixed else "literal",
                            },
                            "operations": [STRIMZI_OPERATIONS[g.operation]],
                            "host": "*",
                        }
                        for g in grants_of_user
                    ],
                },
            },
        }
        for user, grants_of_user in users.items()
    ]
