"""The Kubernetes manifests (deploy/, issue 15.2): `kubectl kustomize` renders the base and the production overlay,
every object validates against the Kubernetes schemas (kubernetes-validate, strict), and what an operator relies on
holds in the rendered output: probes, a restricted securityContext, secrets only by reference, the metrics port.
checkov runs in `make test-k8s` (tools/k8s/checkov.py); its skips are justified in docs/deployment.md."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from verwerkingenlog.settings import Settings, kubernetes_source

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"base": ROOT / "deploy" / "base", "production": ROOT / "deploy" / "overlays" / "production"}
KUBERNETES = "1.32"  # the oldest minor version the manifests are checked against (the preStop sleep action: 1.30+)
POD_KINDS = {"Deployment", "Job", "CronJob"}


@cache
def rendered(target: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render deploy/ (it is on the CI machine)"
    done = subprocess.run([kubectl, "kustomize", str(TARGETS[target])], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def by_kind(target: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in rendered(target) if d["kind"] == kind]


def pod_specs(target: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for d in rendered(target):
        if d["kind"] == "Deployment" or d["kind"] == "Job":
            yield d["metadata"]["name"], d["spec"]["template"]["spec"]
        elif d["kind"] == "CronJob":
            yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("target", TARGETS)
def test_manifests_render_and_validate_against_the_kubernetes_schemas(target: str) -> None:
    kinds = sorted(d["kind"] for d in rendered(target))
    assert kinds == sorted(
        ["ConfigMap", "CronJob", "CronJob", "CronJob", "Deployment", "Ingress", "Job", "NetworkPolicy",
         "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"]
    )  # fmt: skip
    for d in rendered(target):
        if d["kind"] == "ServiceMonitor":  # a CRD of the Prometheus Operator: not in the Kubernetes schemas
            continue
        for version in (KUBERNETES, kubernetes_validate.latest_version()):
            kubernetes_validate.validate(d, version, strict=True)  # raises on any schema violation


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_is_restricted(target: str) -> None:
    """Pod Security Standard 'restricted', and nothing written to the image: read-only root, /tmp an emptyDir."""
    specs = dict(pod_specs(target))
    assert len(specs) == 5
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], name
            assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/tmp", "/run/secrets/verwerkingenlog"}, name


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_only_by_reference(target: str) -> None:
    """No Secret object and no secret value in the manifests: the Secret comes from the municipality's secret
    store; the pods read its keys as files through X_FILE variables (docs/configuration.md)."""
    assert not by_kind(target, "Secret")
    secret_settings = {"DATABASE_URL", "PSEUDONYMISATION_KEY", "PORTAL_SESSION_SECRET", "ADMIN_SESSION_SECRET"}
    for name, spec in pod_specs(target):
        (c,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert not secret_settings & set(env), f"{name} has a secret setting in plain env"
        mounted = {v["name"]: v for v in spec["volumes"]}["secrets"]["secret"]
        assert mounted["secretName"] == "verwerkingenlog-secrets"
        paths = {f"/run/secrets/verwerkingenlog/{i['path']}" for i in mounted["items"]}
        for variable, value in env.items():
            if variable.endswith("_FILE"):
                assert value in paths, f"{name}: {variable} points at {value}, not a mounted key"
    config = by_kind(target, "ConfigMap")[0]["data"]
    secrets_in_config = [
        k for k in config if k.lower() in Settings.model_fields and kubernetes_source(k.lower()) != "ConfigMap"
    ]
    assert not secrets_in_config, "the configuration reference says these come from the Secret"


def test_server_probes_ports_and_monitoring() -> None:
    (deployment,) = by_kind("production", "Deployment")
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8000, "metrics": 9464}
    config = by_kind("production", "ConfigMap")[0]["data"]
    assert config["METRICS_ADDRESS"] == "0.0.0.0:9464" and config["MIGRATE_ON_START"] == "false"
    # SIGTERM: the preStop pause plus the register's own bound end before Kubernetes kills.
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] + int(config["SHUTDOWN_TIMEOUT_SECONDS"]) < grace
    (monitor,) = by_kind("production", "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    (service,) = by_kind("production", "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "metrics"}
    (pdb,) = by_kind("production", "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["selector"]["matchLabels"].items()
    assert deployment["spec"]["replicas"] > pdb["spec"]["minAvailable"]


def test_jobs_run_the_cli_commands() -> None:
    commands = {name: spec["containers"][0]["args"] for name, spec in pod_specs("production")}
    assert commands == {
        "verwerkingenlog": ["serve", "--host", "0.0.0.0", "--port", "8000"],
        "verwerkingenlog-migrate": ["migrate"],
        "verwerkingenlog-purge": ["purge"],
        "verwerkingenlog-partitions": ["partitions", "--create"],
        "verwerkingenlog-verify": ["verify"],
    }
    (job,) = by_kind("production", "Job")
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL_FILE"].endswith("/database-url-owner")  # migrations as the schema owner
    for cron in by_kind("production", "CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def test_production_pins_the_image_by_digest() -> None:
    images = {c["image"] for _, spec in pod_specs("production") for c in spec["containers"]}
    assert len(images) == 1 and "@sha256:" in images.pop()


def test_every_checkov_skip_is_justified_in_the_deployment_guide() -> None:
    skips = yaml.safe_load((ROOT / "deploy" / "checkov-skips.yaml").read_text())
    guide = (ROOT / "docs" / "deployment.md").read_text()
    assert not skips["production"], "the production overlay passes every checkov check"
    for target, checks in skips.items():
        for check, reason in (checks or {}).items():
            assert f"`{check}` ({target}): {reason}" in guide, f"docs/deployment.md must justify {check}"
