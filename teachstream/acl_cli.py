"""``teachstream acl show|apply``: the components' Kafka grants (``runtime.kafka_acls``) on the brokers (edge).

Its imports wait for a command to run: the CLI starts without the admin client or the workers' settings.
"""

from __future__ import annotations

from typing import Any

import click

from runtime.kafka_acls import Grant, grants, strimzi_users
from schemas.errors import TeachstreamError
from teachstream.context import Context, pass_ctx

TIMEOUT_S = 30.0


def binding(grant: Grant) -> Any:
    """The Kafka ACL binding (``confluent_kafka.admin.AclBinding``) of ``grant``: allow, from any host."""
    from confluent_kafka.admin._acl import AclBinding, AclOperation, AclPermissionType
    from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

    return AclBinding(
        ResourceType[grant.resource.upper()],
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        f"User:{grant.user}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def _grants(ctx: Context, user_prefix: str) -> list[Grant]:
    from sinks.settings import SinkSettings
    from streams.settings import StreamsSettings

    streams: StreamsSettings = ctx.settings(StreamsSettings)
    sink: SinkSettings = ctx.settings(SinkSettings)
    return grants(streams.topic_prefix, streams.streams_app_id, sink.sink_group, user_prefix)


USER_PREFIX = click.option(
    "--user-prefix", default="", help="Before each user name (agent, streams, sink, ops), e.g. teachstream-."
)


@click.group()
def acl() -> None:
    """Kafka access per component (agent, streams, sink, ops): least-privilege ACLs."""


@acl.command()
@USER_PREFIX
@click.option(
    "--format",
    "form",
    type=click.Choice(["text", "strimzi"]),
    default="text",
    help="strimzi: KafkaUser resources (deploy/kubernetes/users.yaml is this with --user-prefix teachstream-).",
)
@pass_ctx
def show(ctx: Context, user_prefix: str, form: str) -> None:
    """Print the grants `acl apply` would create."""
    wanted = _grants(ctx, user_prefix)
    if form == "strimzi":
        try:
            import yaml
        except ImportError as exc:
            raise TeachstreamError("--format strimzi needs PyYAML: pip install pyyaml") from exc

        users = strimzi_users(wanted, admin=f"{user_prefix}admin")
        click.echo(yaml.safe_dump_all(users, sort_keys=False, explicit_start=True), nl=False)
        return
    for g in wanted:
        name = f"{g.name}*" if g.prefixed else g.name
        click.echo(f"User:{g.user:<8} {g.operation:<16} {g.resource:<6} {name}")


@acl.command()
@USER_PREFIX
@pass_ctx
def apply(ctx: Context, user_prefix: str) -> None:
    """Create the grants on the brokers (as an administrator: a super user). Existing ones stay."""
    from confluent_kafka import KafkaException

    from teachstream.admin import admin_client

    wanted = _grants(ctx, user_prefix)
    client = admin_client(ctx.settings())
    futures = client.create_acls([binding(g) for g in wanted], request_timeout=TIMEOUT_S)
    for bound, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise TeachstreamError(
                f"could not create the ACL {bound} ({exc.args[0].str() if exc.args else exc}); "
                "is this user a super user of the brokers, and do they run an authorizer?"
            ) from exc
    click.echo(f"{len(wanted)} ACLs in place for users {', '.join(sorted({g.user for g in wanted}))}")
