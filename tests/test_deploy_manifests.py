"""``deploy/``: the Compose file and the Kubernetes manifests, validated offline against real schemas.

Kubernetes objects are checked with ``kubernetes-validate`` (the API server's OpenAPI schemas
of a Kubernetes release, strict: unknown fields fail), the Compose file with the compose-spec
schema that ``check-jsonschema`` ships (its ``vendor.compose-spec``), run as its CLI. Beyond
the schemas, the manifests must describe the topology ``tests/test_topology.py`` runs: each
runner served alone with the target of ``harness.topology.RUNNER_TARGETS``, the API wired to
them by ``TRIAGE_<MODEL>_URL``, probes on ``/readyz`` and ``/healthz``, resources bounded.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from harness.shared_audio import REPO
from harness.topology import RUNNER_TARGETS

DEPLOY = REPO / "deploy"
K8S_VERSION = "1.37.0"
K8S_NAME = {name: name.replace("_", "-") for name in RUNNER_TARGETS}
"""Kubernetes and Compose names of the runners (DNS labels: no underscores)."""


def k8s_objects() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in k8s_objects() if o["kind"] == kind}


def serve_args(container: dict[str, Any]) -> list[str]:
    return [str(a) for a in container.get("args") or container.get("command")]


@pytest.mark.parametrize("obj", k8s_objects(), ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_k8s_object_is_valid(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_k8s_validator_rejects_a_broken_object() -> None:
    """The check bites: a misspelt field and a wrong type both fail."""
    deployment = copy.deepcopy(by_kind("Deployment")["whisper"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    service = copy.deepcopy(by_kind("Service")["whisper"])
    service["spec"]["ports"][0]["port"] = "three thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, K8S_VERSION, strict=True)


def test_k8s_describes_the_topology() -> None:
    deployments, services, hpas = (
        by_kind("Deployment"),
        by_kind("Service"),
        by_kind("HorizontalPodAutoscaler"),
    )
    [config] = by_kind("ConfigMap").values()
    for name, target in RUNNER_TARGETS.items():
        k8s = K8S_NAME[name]
        [container] = deployments[k8s]["spec"]["template"]["spec"]["containers"]
        assert serve_args(container)[:3] == ["bentoml", "serve", target]
        assert services[k8s]["spec"]["selector"] == deployments[k8s]["spec"]["selector"]["matchLabels"]
        assert services[k8s]["spec"]["ports"][0]["port"] == 3000
        assert config["data"][f"TRIAGE_{name.upper()}_URL"] == f"http://{k8s}:3000"
        hpa = hpas[k8s]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": k8s}
        assert hpa["maxReplicas"] > hpa["minReplicas"] >= 1
    assert set(deployments) == {*K8S_NAME.values(), "api"}
    [api] = deployments["api"]["spec"]["template"]["spec"]["containers"]
    assert serve_args(api)[:3] == ["bentoml", "serve", "service:Triage"]
    assert deployments["api"]["spec"]["replicas"] >= 2
    for deployment in deployments.values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert set(container["resources"]) == {"requests", "limits"}
            assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_file_is_valid_against_the_compose_spec(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    ok = subprocess.run([*cli, str(DEPLOY / "compose.yaml")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = compose()
    broken["services"]["api"]["deploy"]["replicas"] = [2]
    broken["services"]["whisper"]["healthcheck"]["intervall"] = "10s"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    refused = subprocess.run([*cli, str(path)], capture_output=True, text=True)
    assert refused.returncode != 0 and "replicas" in refused.stdout + refused.stderr


def test_compose_describes_the_topology() -> None:
    services = compose()["services"]
    api = services["api"]
    for name, target in RUNNER_TARGETS.items():
        runner = services[K8S_NAME[name]]
        assert runner["command"][:3] == ["bentoml", "serve", target]
        assert api["environment"][f"TRIAGE_{name.upper()}_URL"] == f"http://{K8S_NAME[name]}:3000"
        assert api["depends_on"][K8S_NAME[name]] == {"condition": "service_healthy"}
    assert api["command"][:3] == ["bentoml", "serve", "service:Triage"]
    assert api["deploy"]["replicas"] == 2 and "ports" not in api
    assert services["gateway"]["ports"] == ["${TRIAGE_PORT:-3000}:3000"]
    images = {s["image"] for n, s in services.items() if n != "gateway"}
    assert len(images) == 1  # one Bento image for every service
    for name, service in services.items():
        assert "/readyz" in " ".join(service["healthcheck"]["test"]), name
        assert service["deploy"]["resources"]["limits"], name
