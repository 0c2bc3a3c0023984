"""The deployment files are valid: Kubernetes objects against the Kubernetes schemas (strict),
docker-compose.yml against the Compose specification, the CloudNativePG cluster's essentials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BIN = Path(sys.executable).parent
CORE = [
    f
    for f in sorted(K8S.glob("*.yaml"))
    if f.name not in ("kustomization.yaml", "nats-values.yaml", "postgres-cluster.yaml")
]


def test_kubernetes_objects_are_valid() -> None:
    assert len(CORE) >= 10
    out = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--quiet", *map(str, CORE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_file_follows_the_compose_specification() -> None:
    out = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_kustomization_lists_every_manifest() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kust["resources"])
    assert listed == {f.name for f in CORE if f.name != "secret.example.yaml"} | {"postgres-cluster.yaml"}


def test_every_workload_has_probes_resources_hpa_and_pdb() -> None:
    for name in ("gateway", "identification", "assistance", "subsidy", "notification", "civil_affairs"):
        docs = list(yaml.safe_load_all((K8S / f"{name}.yaml").read_text()))
        kinds = {d["kind"] for d in docs}
        assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}, name
        dep = next(d for d in docs if d["kind"] == "Deployment")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert c["args"][:2] == ["serve", name]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["resources"]["requests"]
        assert c["resources"]["limits"]
        assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_postgres_cluster_and_nats_values() -> None:
    cluster, backup = yaml.safe_load_all((K8S / "postgres-cluster.yaml").read_text())
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["kind"] == "Cluster"
    assert cluster["spec"]["instances"] >= 2  # primary + replica
    assert backup["kind"] == "ScheduledBackup"
    dbs = " ".join(cluster["spec"]["bootstrap"]["initdb"]["postInitSQL"])
    for service in ("assistance", "subsidy", "notification", "gateway"):
        assert f"fangfan_{service}" in dbs
    nats = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    assert nats["config"]["cluster"]["replicas"] == 3
    assert nats["config"]["jetstream"]["enabled"] is True
    config = yaml.safe_load((K8S / "configmap.yaml").read_text())
    assert config["data"]["FANGFAN_STREAM_REPLICAS"] == "3"


def test_dockerfile_is_multi_stage_non_root_without_compilers_in_the_final_stage() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    stages = text.split("\nFROM ")
    assert len(stages) == 3  # preamble + build + runtime
    runtime = stages[-1]
    assert "build-essential" not in runtime
    assert "gcc" not in runtime
    assert "USER 10001" in runtime
    assert "HEALTHCHECK" in runtime
