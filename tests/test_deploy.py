"""The deployment files agree with the service and with each other, read offline.

deploy/compose.yaml, deploy/k8s/*.yaml (also checked against Kubernetes' own API schemas,
strictly, with kubernetes-validate), deploy/nginx/digits.conf (``nginx -t`` where nginx is
installed) and the Dockerfile: the port the image serves on, the probes' paths and what
answers them, the database's wiring, the grace periods against gunicorn's, the body limit.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from app.factory import DEFAULT_MAX_BODY, create_app
from tests.servers import NGINX_CONFIG, ROOT, Nginx, free_port, render_nginx_config

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest version still supported widely; the schemas ship
GUNICORN = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
DOCKERFILE = (ROOT / "Dockerfile").read_text()
NGINX = NGINX_CONFIG.read_text()


def image_port() -> int:
    """The port the image serves on: its BIND, which must also be what it EXPOSEs."""
    bind = re.search(r"^\s*BIND=0\.0\.0\.0:(\d+)", DOCKERFILE, re.M)
    exposed = re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.M)
    assert bind and exposed and bind.group(1) == exposed.group(1)
    return int(bind.group(1))


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, value
    return int(match.group(1))


# The Dockerfile ------------------------------------------------------------------------------

def test_the_image_checks_liveness_and_can_write_its_default_store():
    healthcheck = re.search(r"^HEALTHCHECK .*\n\s*CMD (.*)$", DOCKERFILE, re.M)
    assert healthcheck and f"127.0.0.1:{image_port()}/healthz" in healthcheck.group(1)
    assert "/readyz" not in healthcheck.group(1)  # a database outage must not mark it unhealthy
    assert re.search(r"^RUN mkdir instance && chown digits:digits instance$", DOCKERFILE, re.M)
    assert DOCKERFILE.index("chown digits:digits instance") < DOCKERFILE.index("USER digits")
    assert re.search(r"^WORKDIR /srv/digits$", DOCKERFILE, re.M)  # instance/ is the app's
    assert DOCKERFILE.rstrip().endswith('CMD ["gunicorn", "-c", "gunicorn.conf.py"]')  # PID 1


# compose.yaml --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_replicas_of_the_image_behind_nginx(compose):
    services = compose["services"]
    assert set(services) == {"app", "nginx", "db"}
    app = services["app"]
    assert (DEPLOY / app["build"]["context"]).resolve() == ROOT  # the project's Dockerfile
    assert app["deploy"]["replicas"] >= 2
    assert app["expose"] == [str(image_port())] and "ports" not in app  # only via nginx
    assert seconds(app["stop_grace_period"]) > GUNICORN["graceful_timeout"]
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    upstream = re.search(r"^\s*server (\S+):(\d+)[ ;]", NGINX, re.M)
    assert upstream and upstream.groups() == ("app", str(image_port()))


def test_compose_wires_the_app_to_postgresql_with_a_named_volume(compose):
    services = compose["services"]
    db = services["db"]
    password = db["environment"]["POSTGRES_PASSWORD"]
    assert password.startswith("${POSTGRES_PASSWORD:?")  # required, never written in the file
    written = services["app"]["environment"]["DATABASE_URL"]
    assert written.count(password) == 1  # the same variable, the same way
    url = urlsplit(written.replace(password, "PASSWORD"))
    assert url.scheme == "postgresql" and url.hostname == "db" and url.port == 5432
    assert url.username == db["environment"]["POSTGRES_USER"] and url.password == "PASSWORD"
    assert url.path == "/" + db["environment"]["POSTGRES_DB"]
    [volume] = db["volumes"]
    name, path = volume.split(":")
    assert name in compose["volumes"] and path == "/var/lib/postgresql/data"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_gives_nginx_the_project_config_and_static_files(compose):
    mounts = dict(reversed(v.rsplit(":", 2)[:2]) for v in compose["services"]["nginx"]["volumes"])
    assert (DEPLOY / mounts["/etc/nginx/conf.d/default.conf"]).resolve() == NGINX_CONFIG
    static_root = re.search(r"^\s*root (\S+);$", NGINX, re.M).group(1)
    assert (DEPLOY / mounts[f"{static_root}/static"]).resolve() == ROOT / "static"


# Kubernetes ----------------------------------------------------------------------------------

def manifests() -> dict[str, dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = {}
    for name in kustomization["resources"]:
        document = yaml.safe_load((K8S / name).read_text())
        found[document["kind"]] = document
    return found


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    assert set(manifests()) == {"Deployment", "Service", "HorizontalPodAutoscaler",
                                "PodDisruptionBudget"}


@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler",
                                  "PodDisruptionBudget"])
def test_manifests_match_the_kubernetes_api_schema(kind):
    kubernetes_validate.validate(manifests()[kind], KUBERNETES_VERSION, strict=True)


def test_schema_validation_catches_a_misspelt_field():
    deployment = manifests()["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def container() -> dict:
    return manifests()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_probes_use_liveness_and_readiness_as_the_app_answers_them(tmp_path):
    probes = {name: container()[name]["httpGet"]
              for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["startupProbe"]["path"] == probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    [port] = container()["ports"]
    assert port["containerPort"] == image_port()
    assert {p["port"] for p in probes.values()} == {port["name"]}
    client = create_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")}).test_client()
    for probe in probes.values():
        assert client.get(probe["path"]).status_code == 200
    # the readiness probe outlasts the store's own timeout (DATABASE_TIMEOUT, default 2 s)
    timeout = create_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")}).config["DATABASE_TIMEOUT"]
    assert container()["readinessProbe"]["timeoutSeconds"] > timeout


def test_the_database_comes_from_an_external_secret_within_the_connection_budget():
    env = {item["name"]: item for item in container()["env"]}
    secret = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "digits-database", "key": "url"}
    assert not any(doc["kind"] == "Secret" for doc in manifests().values())
    connections = (manifests()["HorizontalPodAutoscaler"]["spec"]["maxReplicas"]
                   * int(env["WEB_CONCURRENCY"]["value"]) * int(env["DATABASE_POOL_SIZE"]["value"]))
    assert connections <= 50  # half of PostgreSQL's default max_connections (100)


def test_resources_grace_and_user_fit_the_image():
    resources = container()["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}
    workers = int({i["name"]: i for i in container()["env"]}["WEB_CONCURRENCY"]["value"])
    assert int(resources["limits"]["cpu"]) == workers  # a worker per CPU, as gunicorn.conf.py
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    pause = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pause[1]) + GUNICORN["graceful_timeout"]
    uid = re.search(r"useradd --system --uid (\d+)", DOCKERFILE).group(1)
    assert pod["securityContext"]["runAsUser"] == int(uid)


def test_service_autoscaler_and_budget_point_at_the_deployment():
    found = manifests()
    deployment = found["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert found["Service"]["spec"]["selector"] == labels
    assert found["Service"]["spec"]["ports"][0]["targetPort"] == container()["ports"][0]["name"]
    assert found["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    target = found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    [metric] = found["HorizontalPodAutoscaler"]["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count


# nginx ----------------------------------------------------------------------------------------

def test_nginx_body_limit_is_the_apps():
    limit = re.search(r"^\s*client_max_body_size (\d+)m;$", NGINX, re.M)
    assert limit and int(limit.group(1)) * 1024 * 1024 == DEFAULT_MAX_BODY
    assert f"limit of {DEFAULT_MAX_BODY} bytes" in NGINX  # its own 413 says the same


def test_nginx_retries_posts_only_where_they_are_idempotent():
    blocks = dict(re.findall(r"location (= /\S+|/\S*) \{(.*?)\n    \}", NGINX, re.S))
    retried = {path for path, body in blocks.items() if "non_idempotent" in body}
    assert retried == {"= /predict", "= /api/feedback"}
    server_level = re.split(r"^\s*location ", NGINX, maxsplit=1, flags=re.M)[0]
    assert re.search(r"^\s*proxy_next_upstream error timeout;$", server_level, re.M)
    assert "http_503" not in NGINX  # the app's 503 (database down) is the same everywhere
    assert "least_conn;" in NGINX and "limit_req zone=feedback" in blocks["= /api/feedback"]


def test_the_rendered_config_changes_only_addresses_and_root():
    rendered = render_nginx_config([18001, 18002], 18000)
    changed = sorted(set(rendered.splitlines()) ^ set(NGINX.splitlines()))
    assert changed == sorted([
        "    listen 80;", "    listen 127.0.0.1:18000;",
        "    server app:8000 max_fails=1 fail_timeout=5s;",
        "    server 127.0.0.1:18001 max_fails=1 fail_timeout=5s;",
        "    server 127.0.0.1:18002 max_fails=1 fail_timeout=5s;",
        "        root /srv/digits;", f"        root {ROOT};",
    ])


def test_nginx_accepts_the_config(tmp_path):
    port = free_port()
    result = Nginx(render_nginx_config([free_port()], port), Path(tmp_path), port).test()
    assert result.returncode == 0, result.stderr
