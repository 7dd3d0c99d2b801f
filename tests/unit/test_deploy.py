"""The deploy manifests agree with the code: topics, their configs, and the retention settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bench.sizing import BUSY, TYPICAL, markdown, plan
from runtime.kafka_acls import grants, strimzi_users
from runtime.settings import Settings
from schemas.topics import SCREEN_MAX_BYTES, topic_specs

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def test_every_topic_is_declared_with_the_code_s_partitions_and_configs() -> None:
    declared = {d["spec"]["topicName"]: d["spec"] for d in documents("topics.yaml") if d["kind"] == "KafkaTopic"}
    assert set(declared) == {t.name for t in topic_specs()}
    for spec in topic_specs():
        topic = declared[spec.name]
        assert topic["partitions"] == spec.partitions
        assert {k: v for k, v in topic["config"].items() if k != "min.insync.replicas"} == spec.config


def test_the_kafka_users_are_the_code_s_grants() -> None:
    """deploy/kubernetes/users.yaml is `teachstream acl show --format strimzi --user-prefix teachstream-`."""
    assert documents("users.yaml") == strimzi_users(grants(user_prefix="teachstream-"), admin="teachstream-admin")


def test_each_workload_reaches_kafka_as_its_own_user_over_tls() -> None:
    (config,) = [d for d in documents("pipeline.yaml") if d["kind"] == "ConfigMap"]
    assert config["data"]["TEACHSTREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    users = {d["metadata"]["name"] for d in documents("users.yaml")}
    expected = {"teachstream-streams": "teachstream-streams", "teachstream-sink": "teachstream-sink"}
    for d in (d for d in documents("pipeline.yaml") if d["kind"] in {"Deployment", "Job"}):
        pod = d["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        user = env["TEACHSTREAM_KAFKA_USERNAME"]["value"]
        assert user == expected.get(d["metadata"]["name"], "teachstream-admin")
        assert user in users  # teachstream-admin too: a super user, without ACLs
        assert env["TEACHSTREAM_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        ca = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
        assert ca["secret"]["secretName"] == "teachstream-cluster-ca-cert"
        assert config["data"]["TEACHSTREAM_KAFKA_CA_FILE"] == mounts["kafka-ca"] + "/ca.crt"


def test_prometheus_scrapes_every_worker_as_the_alert_rules_name_it() -> None:
    (monitor,) = documents("monitoring.yaml")
    (config,) = [d for d in documents("pipeline.yaml") if d["kind"] == "ConfigMap"]
    port = int(config["data"]["TEACHSTREAM_METRICS_PORT"])
    workers = [d for d in documents("pipeline.yaml") if d["kind"] == "Deployment"]
    (selector,) = monitor["spec"]["selector"]["matchExpressions"]
    apps = {d["spec"]["template"]["metadata"]["labels"]["app"] for d in workers}
    assert set(selector["values"]) == apps and monitor["spec"]["jobLabel"] == "app"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    for d in workers:
        (container,) = d["spec"]["template"]["spec"]["containers"]
        assert {"containerPort": port, "name": endpoint["port"]} in container["ports"]
    rules = yaml.safe_load((DEPLOY.parent / "prometheus" / "alerts.yaml").read_text())
    (down,) = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "TeachstreamWorkerDown"]
    job = re.search(r'job=~"([^"]+)"', down["expr"])
    assert job is not None and all(re.fullmatch(job.group(1), app) for app in apps)


def test_keda_scales_each_worker_on_its_own_group_and_lag_up_to_its_partitions() -> None:
    from sinks.settings import SinkSettings
    from streams.settings import StreamsSettings

    docs = documents("scaling.yaml")
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    auths = {d["metadata"]["name"]: d for d in docs if d["kind"] == "TriggerAuthentication"}
    workers = {d["metadata"]["name"]: d for d in documents("pipeline.yaml") if d["kind"] == "Deployment"}
    assert set(scaled) == set(workers)
    groups = {
        "teachstream-streams": StreamsSettings.model_fields["streams_app_id"].default,
        "teachstream-sink": SinkSettings.model_fields["sink_group"].default,
    }
    partitions = {t.name: t.partitions for t in topic_specs()}
    for name, obj in scaled.items():
        (trigger,) = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == groups[name]
        assert obj["spec"]["maxReplicaCount"] <= partitions[meta["topic"]]
        (container,) = workers[name]["spec"]["template"]["spec"]["containers"]
        auth = auths[trigger["authenticationRef"]["name"]]["spec"]
        assert [e["containerName"] for e in auth["env"]] == [container["name"]]
        password = next(r for r in auth["secretTargetRef"] if r["parameter"] == "password")
        user = next(e["value"] for e in container["env"] if e["name"] == "TEACHSTREAM_KAFKA_USERNAME")
        assert password["name"] == user  # the Secret Strimzi makes for the worker's own user


def test_the_cluster_listens_as_the_workers_connect_and_holds_a_frame() -> None:
    (kafka,) = [d for d in documents("kafka.yaml") if d["kind"] == "Kafka"]
    (config,) = [d for d in documents("pipeline.yaml") if d["kind"] == "ConfigMap"]
    host, port = config["data"]["TEACHSTREAM_KAFKA_BOOTSTRAP"].rsplit(":", 1)
    assert host == f"{kafka['metadata']['name']}-kafka-bootstrap"  # Strimzi's bootstrap Service
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert (listener["port"], listener["tls"], listener["authentication"]["type"]) == (int(port), True, "scram-sha-512")
    assert kafka["spec"]["kafka"]["authorization"]["superUsers"] == ["teachstream-admin"]
    settings = kafka["spec"]["kafka"]["config"]
    assert settings["message.max.bytes"] >= SCREEN_MAX_BYTES and settings["auto.create.topics.enable"] is False
    topics = [d for d in documents("topics.yaml") if d["kind"] == "KafkaTopic"]
    assert all(int(t["spec"]["config"]["min.insync.replicas"]) == settings["min.insync.replicas"] for t in topics)
    assert all(t["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"] for t in topics)


def test_retention_settings_agree_between_topics_and_workers() -> None:
    (config,) = [d for d in documents("pipeline.yaml") if d["kind"] == "ConfigMap"]
    hours = float(config["data"]["TEACHSTREAM_RAW_RETENTION_HOURS"])
    assert hours == Settings.model_fields["raw_retention_hours"].default
    assert (
        int(config["data"]["TEACHSTREAM_DATASET_RETENTION_DAYS"])
        == Settings.model_fields["dataset_retention_days"].default
    )
    raw = [d for d in documents("topics.yaml") if d["spec"]["topicName"].endswith(".raw")]
    assert raw and all(int(d["spec"]["config"]["retention.ms"]) == hours * 3_600_000 for d in raw)


def test_workers_get_their_settings_and_secrets_from_the_same_place() -> None:
    workloads = [d for d in documents("pipeline.yaml") if d["kind"] in {"Deployment", "Job"}]
    assert {d["metadata"]["name"] for d in workloads} == {
        "teachstream-provision",
        "teachstream-streams",
        "teachstream-sink",
    }
    for d in workloads:
        (container,) = d["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "teachstream"}},
            {"secretRef": {"name": "teachstream"}},
        ]


def test_the_topics_one_stream_pass_reads_together_have_as_many_partitions() -> None:
    """A device's events and frames are read co-partitioned: the screens stage writes a frame to the
    partition number of screens.clean its raw frame had, and the agent's partitioner puts a device in the
    same partition number of both raw topics."""
    partitions = {t.name: t.partitions for t in topic_specs()}
    assert len({partitions[n] for n in ("interactions.raw", "screens.raw", "screens.clean", "interactions.clean")}) == 1


def test_the_readme_sizing_table_is_the_model_s() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown([plan(n, p) for n in (1_000, 10_000, 100_000) for p in (BUSY, TYPICAL)]) in readme
