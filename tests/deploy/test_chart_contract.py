"""The Helm chart's contract with the image: each Deployment's and the migration
Job's command, run as a local process with exactly the environment the chart
renders, against a real (initially empty) PostgreSQL, becomes ready on the probe
paths and ports the chart declares.

Run by ``make check-deploy``, which provides helm (``HELM``)."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import BIN
from tests.support.database import PostgresServer, create_database
from tests.support.pgbouncer import PgBouncer
from tests.support.sealing import make_secret
from tests.support.sign_in import REQUESTS, skip_auth_routes, skips_sign_in
from tools.net import free_port, wait_for_http

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "burnafter"


def helm_template(
    values: dict[str, Any] | None = None, files: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``helm template`` with the values files, then each value set by ``--set``, or
    by ``--set-json`` when it is a dict, a list (label keys hold dots) or a bool."""
    helm = os.environ.get("HELM", "helm")
    args = [helm, "template", "burnafter", str(CHART)]
    for file in files:
        args += ["-f", str(file)]
    for key, value in (values or {}).items():
        if isinstance(value, dict | list | bool):
            args += ["--set-json", f"{key}={json.dumps(value)}"]
        else:
            args += ["--set", f"{key}={value}"]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def render(
    values: dict[str, Any] | None = None, files: tuple[Path, ...] = ()
) -> list[dict[str, Any]]:
    done = helm_template(values, files)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render_error(values: dict[str, Any]) -> str:
    """The message of a render the chart refuses."""
    done = helm_template(values)
    assert done.returncode != 0, "the chart rendered"
    return " ".join(done.stderr.split())


def container_env(
    container: dict[str, Any], objects: list[dict[str, Any]], secrets: dict[str, str]
) -> dict[str, str]:
    """The environment Kubernetes would give the container."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        config = next(
            o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name
        )
        env.update(config["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            value = secrets.get(f"{ref['name']}/{ref['key']}")
            assert value is not None or ref.get("optional"), f"no secret {ref}"
            if value is not None:
                env[item["name"]] = value
    return env


def probe_port(container: dict[str, Any], probe: dict[str, Any]) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    named: int = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
    return named


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
async def empty_database(postgres: PostgresServer) -> str:
    return await create_database(postgres, migrated=False)


def test_every_workload_runs_and_becomes_ready_as_rendered(empty_database: str) -> None:
    objects = render({"secrets.existingSecret": "burnafter-secrets"})
    secrets = {
        "burnafter-database/DATABASE_URL": empty_database,
        "burnafter-secrets/AUDIT_KEY": "a" * 40,
    }
    job = next(o for o in objects if o["kind"] == "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    done = subprocess.run(
        [str(BIN / "burnafter"), *migrate["args"]],
        env={"PATH": os.environ["PATH"], **container_env(migrate, objects, secrets)},
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    deployments = [o for o in objects if o["kind"] == "Deployment"]
    assert sorted(d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments) == [
        "api", "reaper", "web",
    ]  # fmt: skip
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        env = container_env(container, objects, secrets)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert int(env["METRICS_PORT"]) == ports["metrics"]
        if "http" in ports:
            assert int(env["HTTP_PORT"]) == ports["http"]
        probes = [container["readinessProbe"], container["livenessProbe"]]
        for port in {probe_port(container, p) for p in probes}:
            assert port_is_free(port), f"port {port} is taken on this machine"
        process = subprocess.Popen(
            [str(BIN / "burnafter"), *container["args"]],
            env={"PATH": os.environ["PATH"], **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for probe in probes:
                port = probe_port(container, probe)
                wait_for_http(f"http://127.0.0.1:{port}{probe['httpGet']['path']}", process)
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0


def test_the_cloudnativepg_shape_runs_through_a_transaction_pooler_as_rendered(
    pgbouncer: PgBouncer, empty_database: str
) -> None:
    """ci/cloudnativepg-values.yaml, the README's production shape: a synchronous
    standby, a Pooler in transaction mode that every component reaches with the app
    Secret's user and password, no statement cache, two api workers. The migration
    Job and the api run as rendered through the test's PgBouncer, standing in for the
    pooler's Service (whose name no resolver here knows)."""
    objects = render(files=(CHART / "ci" / "cloudnativepg-values.yaml",))
    (cluster,) = [o for o in objects if o["kind"] == "Cluster"]
    (pooler,) = [o for o in objects if o["kind"] == "Pooler"]
    assert cluster["spec"]["postgresql"]["synchronous"] == {
        "method": "any", "number": 1, "dataDurability": "required",
    }  # fmt: skip
    assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert pooler["spec"]["type"] == "rw"
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    app = f"{cluster['metadata']['name']}-app"
    secrets = {
        f"{app}/username": "postgres",
        f"{app}/password": "not-checked-by-the-test-pgbouncer",
        "burnafter-secrets/AUDIT_KEY": "a" * 40,
    }
    envs = {
        component: container_env(pod["containers"][0], objects, secrets)
        for component, pod in pods(objects).items()
    }
    assert sorted(envs) == ["api", "migrate", "reaper", "web"]
    for env in envs.values():
        assert env["DATABASE_URL"] == f"postgresql://{pooler['metadata']['name']}:5432/burnafter"
        assert (env["PGUSER"], env["DB_STATEMENT_CACHE_SIZE"]) == ("postgres", "0")
    assert envs["api"]["API_WORKERS"] == "2"
    database = empty_database.rpartition("/")[2].partition("?")[0]
    through = f"postgresql://127.0.0.1:{pgbouncer.port}/{database}"
    base = {"PATH": os.environ["PATH"], "DATABASE_URL": through}
    migrate = subprocess.run(
        [str(BIN / "burnafter"), "migrate"], env={**envs["migrate"], **base},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    api = subprocess.Popen(
        [str(BIN / "burnafter"), *pods(objects)["api"]["containers"][0]["args"]],
        env={**envs["api"], **base, "HTTP_PORT": str(port), "METRICS_PORT": str(free_port())},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", api, 60)  # two workers start
        body = json.dumps(make_secret().body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/secrets", body,
            {"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request) as created:  # noqa: S310
            assert created.status == 201
    finally:
        api.terminate()
        assert api.wait(timeout=30) == 0
    # The install notes count against the pooler's max_client_conn, not PostgreSQL's.
    scaled = {"api.autoscaling.enabled": True, "web.autoscaling.enabled": True}
    cnpg = {"database.cloudnativepg.enabled": True}
    pooled = {**cnpg, "database.cloudnativepg.pooler.enabled": True}
    assert "more than database.maxConnections (97)" in install_notes({**scaled, **cnpg})
    assert "database connections, more than" not in install_notes({**scaled, **pooled})
    stalls = "PostgreSQL takes no writes"
    assert stalls not in install_notes(cnpg)  # three instances: either standby may go
    assert stalls in install_notes({**cnpg, "database.cloudnativepg.instances": 2})
    asynchronous = {
        "database.cloudnativepg.instances": 2,
        "database.cloudnativepg.synchronousStandbys": 0,
    }
    assert stalls not in install_notes({**cnpg, **asynchronous})
    assert "fewer than its instances" in render_error(
        {**cnpg, "database.cloudnativepg.instances": 1}
    )
    squeezed = {**pooled, "database.cloudnativepg.pooler.maxClientConn": 100}
    notes = install_notes({**scaled, **squeezed})
    assert "more than database.cloudnativepg.pooler.maxClientConn (100)" in notes


def test_hook_can_be_switched_off_for_gitops_tools() -> None:
    """Without the hook the Job is an ordinary resource. Its pod template cannot be
    changed in place, so its name follows the chart version and the image: a new
    image makes a new Job that migrates, the same one keeps the Job."""

    def job(values: dict[str, Any]) -> dict[str, Any]:
        values = {"migrations.helmHook": "false", **values}
        return next(o for o in render(values) if o["kind"] == "Job")

    first = job({})
    assert first["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    assert re.fullmatch(r".*-0-1-0-[0-9a-f]{8}", first["metadata"]["name"])
    assert len(first["metadata"]["name"]) <= 63
    assert job({})["metadata"]["name"] == first["metadata"]["name"]
    assert job({"image.tag": "0.2.0"})["metadata"]["name"] != first["metadata"]["name"]
    changed = job({"config.dbStatementCacheSize": 0})  # another pod template: another Job
    assert changed["metadata"]["name"] != first["metadata"]["name"]
    long_name = job({"fullnameOverride": "x" * 60})["metadata"]["name"]
    assert len(long_name) <= 63 and re.fullmatch(r"x+-[0-9a-f]{8}", long_name)


def test_gitops_with_cloudnativepg_makes_the_database_then_migrates_then_serves() -> None:
    """Argo CD runs a hook Job before anything else, so before the cluster exists.
    Without the hook, sync waves order it: cluster, pooler, migration, pods."""
    values = {
        "migrations.helmHook": False,
        "database.cloudnativepg.enabled": True,
        "database.cloudnativepg.pooler.enabled": True,
    }

    def wave(o: dict[str, Any]) -> int:
        return int(o["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))

    waves = {o["kind"]: wave(o) for o in render(values)}
    assert waves["Cluster"] < waves["Pooler"] < waves["Job"] < waves["Deployment"] == 0
    assert waves["Job"] < waves["ConfigMap"] and waves["Job"] < waves["Service"]


def test_alerts_link_their_runbooks_where_the_operator_serves_them() -> None:
    def urls(values: dict[str, Any]) -> list[str]:
        (rule,) = [o for o in render(values) if o["kind"] == "PrometheusRule"]
        return [r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"]]

    relative = urls({"metrics.prometheusRule.enabled": True})
    assert relative and all(url.startswith("docs/operations.md#") for url in relative)
    base = "https://docs.example.com/burnafter/operations.html"
    absolute = urls({"metrics.prometheusRule.enabled": True,
                     "metrics.prometheusRule.runbookBaseUrl": base + "/"})  # fmt: skip
    assert absolute == [f"{base}#{url.partition('#')[2]}" for url in relative]
    assert "runbookBaseUrl" in render_error({"metrics.prometheusRule.runbookBaseUrl": "docs"})


def test_config_changes_roll_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        api = next(o for o in render(values) if o["kind"] == "Deployment")
        return str(api["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum({}) != checksum({"config.maxViews": "5"})


# Finding 13: the identity headers (who is signed in, who is an admin) are believed
# from config.trustedProxies, so only the ingress controller's pods may reach the
# pods that believe them.
POD_CIDR = "10.244.0.0/16"
POLICY = {"networkPolicy.enabled": "true", "config.trustedProxies": POD_CIDR}
SSO = {
    "ingress.enabled": "true",
    "sso.enabled": "true",
    "sso.authUrl": "https://auth.example.com/oauth2/auth",
    "sso.signinUrl": "https://auth.example.com/oauth2/start",
}


def test_what_needs_no_account_is_the_same_behind_the_chart_and_the_compose_file() -> None:
    """A recipient opens and downloads, a responder answers and uploads, with no
    account; sharing, asking and receipts need one. The chart's open Ingress and the
    compose file's oauth2-proxy agree on which is which."""
    objects = render({**POLICY, **SSO})
    open_ = next(o for o in objects if o["metadata"]["name"] == "burnafter-open")
    paths = open_["spec"]["rules"][0]["http"]["paths"]

    def chart_opens(path: str) -> bool:
        # ingress-nginx with use-regex: each path a regular expression, as nginx reads it.
        return any(
            path.startswith(p["path"]) if p["pathType"] == "Prefix" else re.search(p["path"], path)
            for p in paths
        )

    routes = skip_auth_routes()
    for method, path, public in REQUESTS:
        assert chart_opens(path) is public, (method, path)
        assert skips_sign_in(routes, method, path) is public, (method, path)


def test_sso_puts_sign_in_before_creating_but_not_before_opening() -> None:
    objects = render(
        {
            **POLICY,
            **SSO,
            "config.createPolicy": "sso",
            "config.senderLimits.anonymous.maxViews": "3",
        }
    )
    ingresses = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Ingress"}
    signed, open_ = ingresses["burnafter"], ingresses["burnafter-open"]
    annotations = signed["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"].endswith("/oauth2/auth")
    assert annotations["nginx.ingress.kubernetes.io/auth-response-headers"] == (
        "X-Auth-Request-Email,X-Auth-Request-Groups"
    )
    assert not any("auth-url" in key for key in open_["metadata"]["annotations"])
    open_paths = [p["path"] for p in open_["spec"]["rules"][0]["http"]["paths"]]
    assert "/s/" in open_paths and any("reveal" in path for path in open_paths)
    assert "/api/" not in open_paths and "/" not in open_paths
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert config["IDENTITY_HEADER"] == "X-Auth-Request-Email"
    assert config["GROUPS_HEADER"] == "X-Auth-Request-Groups"
    assert config["CREATE_POLICY"] == "sso"
    assert config["ANONYMOUS_MAX_VIEWS"] == "3"
    assert "SSO_MAX_VIEWS" not in config


@pytest.mark.parametrize(
    "values",
    [
        {"config.trustedProxies": POD_CIDR},
        {**SSO, "config.trustedProxies": POD_CIDR, "config.adminGroups": "platform-admins"},
        SSO,
    ],
    ids=["trusted-proxies", "sso-with-trusted-proxies", "sso"],
)
def test_identity_trust_without_a_network_policy_is_refused(values: dict[str, Any]) -> None:
    message = render_error(values)
    assert "any pod that can reach them could claim to be any user" in message
    # The two ways out, by name.
    assert "networkPolicy.enabled=true" in message
    assert "networkPolicy.ingressControllerNamespace" in message
    assert "networkPolicy.ingressControllerPodLabels" in message
    assert "identity.trustWithoutNetworkPolicy=true" in message


def test_identity_trust_without_a_network_policy_renders_with_the_explicit_opt_out() -> None:
    opt_out = {"identity.trustWithoutNetworkPolicy": "true"}
    objects = render({**SSO, "config.trustedProxies": POD_CIDR, **opt_out})
    assert not [o for o in objects if o["kind"] == "NetworkPolicy"]
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert config["TRUSTED_PROXIES"] == POD_CIDR
    # Without trust there is nothing to opt out of.
    assert render({})


@pytest.mark.parametrize(
    ("values", "namespace", "pods"),
    [
        (
            POLICY,
            "ingress-nginx",
            {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/component": "controller",
            },
        ),
        (
            {
                **POLICY,
                **SSO,
                "networkPolicy.ingressControllerNamespace": "edge",
                "networkPolicy.ingressControllerPodLabels": {"app": "edge-proxy"},
            },
            "edge",
            {"app": "edge-proxy"},
        ),
    ],
    ids=["defaults", "sso-own-selectors"],
)
def test_with_identity_trust_only_the_ingress_controller_pods_reach_api_and_web(
    values: dict[str, Any], namespace: str, pods: dict[str, str]
) -> None:
    objects = render(values)
    policies = {
        o["metadata"]["labels"]["app.kubernetes.io/component"]: o["spec"]
        for o in objects
        if o["kind"] == "NetworkPolicy"
    }
    assert sorted(policies) == ["api", "reaper", "web"]
    controller = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": pods},
    }
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    for component, spec in policies.items():
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
        assert "Ingress" in spec["policyTypes"]
        # Every rule names who and which port: no rule admits everyone.
        assert all(rule.get("from") and rule.get("ports") for rule in spec["ingress"])
        admitted = {
            (port["port"], json.dumps(peer, sort_keys=True))
            for rule in spec["ingress"]
            for peer in rule["from"]
            for port in rule["ports"]
        }
        expected = {("metrics", json.dumps(prometheus, sort_keys=True))}
        if component != "reaper":
            # One peer, both selectors in it (they must both match), on the http port only.
            expected.add(("http", json.dumps(controller, sort_keys=True)))
        assert admitted == expected, component


def install_notes(values: dict[str, Any]) -> str:
    """What ``helm install`` prints after installing (NOTES.txt), without a cluster."""
    helm = os.environ.get("HELM", "helm")
    args = [helm, "install", "burnafter", str(CHART), "--dry-run=client"]
    for key, value in values.items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return " ".join(done.stdout.partition("NOTES:")[2].split())


def test_only_the_reaper_reaches_the_webhooks_and_only_where_told() -> None:
    """The reaper delivers webhooks: with the policy on, its egress reaches the
    endpoints' CIDR on their ports when given; api and web never get it. Without
    one, the install notes say that deliveries cannot leave."""
    base: dict[str, Any] = {"networkPolicy.enabled": True}
    told = {**base, "networkPolicy.webhooks": {"cidr": "203.0.113.0/24", "ports": [443, 8443]}}

    def egress(values: dict[str, Any]) -> dict[str, list[Any]]:
        return {
            o["metadata"]["labels"]["app.kubernetes.io/component"]: o["spec"]["egress"]
            for o in render(values)
            if o["kind"] == "NetworkPolicy"
        }

    webhook_rule = {
        "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}],
    }
    policies = egress(told)
    assert webhook_rule in policies["reaper"]
    assert webhook_rule not in policies["api"] and webhook_rule not in policies["web"]
    assert "203.0.113.0/24" not in json.dumps(egress(base))
    assert "the reaper cannot reach webhook endpoints" in install_notes(base)
    assert "the reaper cannot reach webhook endpoints" not in install_notes(told)


def test_the_install_notes_warn_when_the_pools_could_outgrow_the_database() -> None:
    """Every api and web pod (autoscaling at its maximum) with its pool and its
    readiness connection, every reaper's pool and the migration Job, against
    database.maxConnections: the defaults fit PostgreSQL's own default."""
    warning = "database connections, more than database.maxConnections"
    assert warning not in install_notes({})
    # 10 + 10 pods at most, pools of 16: 20 * 17 + 16 + 1.
    scaled = install_notes({"api.autoscaling.enabled": True, "web.autoscaling.enabled": True})
    assert "may open 357 database connections" in scaled
    assert "more than database.maxConnections (97)" in scaled
    assert warning not in install_notes(
        {"api.autoscaling.enabled": True, "web.autoscaling.enabled": True,
         "database.maxConnections": 400}
    )  # fmt: skip
    assert warning not in install_notes(
        {"api.autoscaling.enabled": True, "database.maxConnections": 0}
    )
    # 2 + 2 pods, pools of 24: 4 * 25 + 24 + 1 = 125.
    assert "may open 125 database connections" in install_notes({"config.dbPoolMax": 24})
    # 2 api pods of 4 workers, 2 web pods of 1: 10 * 17 + 16 + 1 = 187.
    assert "may open 187 database connections" in install_notes({"config.apiWorkers": 4})


# Branding: the name, accent, help link and footer reach every pod through the
# ConfigMap, each only when set; the logo is a ConfigMap of the operator's, mounted
# into the pods that serve the pages and nowhere else.
BRAND_VALUES = CHART / "ci" / "brand-values.yaml"
BRAND_MOUNT = "/etc/burnafter/brand"


def pods(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each Deployment's and the Job's pod spec, by component (the Job: migrate)."""
    found: dict[str, dict[str, Any]] = {}
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            component = o["metadata"]["labels"].get("app.kubernetes.io/component", "migrate")
            found[component] = o["spec"]["template"]["spec"]
    return found


def test_pods_spread_softly_and_take_the_operator_s_labels_priority_and_volumes() -> None:
    selector = {"app.kubernetes.io/name": "burnafter", "app.kubernetes.io/instance": "burnafter"}
    defaults = pods(render())
    for component in ("api", "web"):
        spread = defaults[component]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in spread] == [
            "kubernetes.io/hostname", "topology.kubernetes.io/zone",
        ]  # fmt: skip
        for constraint in spread:
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"  # never blocks a rollout
            labels = {**selector, "app.kubernetes.io/component": component}
            assert constraint["labelSelector"]["matchLabels"] == labels
    assert "topologySpreadConstraints" not in defaults["reaper"]
    assert "priorityClassName" not in defaults["api"]

    ca = {"name": "corp-ca", "configMap": {"name": "corp-ca"}}
    mount = {"name": "corp-ca", "mountPath": "/etc/corp-ca", "readOnly": True}
    own = {"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "DoNotSchedule",
           "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}  # fmt: skip
    objects = render({
        "api.podLabels": {"team": "platform", "app.kubernetes.io/component": "not-api"},
        "api.priorityClassName": "business-critical",
        "api.extraVolumes": [ca], "api.extraVolumeMounts": [mount],
        "api.spreadOverNodesAndZones": False, "api.topologySpreadConstraints": [own],
    })  # fmt: skip
    api = next(
        o for o in objects if o["kind"] == "Deployment"
        and o["metadata"]["labels"]["app.kubernetes.io/component"] == "api"
    )  # fmt: skip
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert labels["team"] == "platform"
    assert labels["app.kubernetes.io/component"] == "api"  # the Service still finds it
    pod = api["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "business-critical"
    assert ca in pod["volumes"]
    assert mount in pod["containers"][0]["volumeMounts"]
    assert pod["topologySpreadConstraints"] == [own]
    web = pods(objects)["web"]
    assert "volumes" not in web and "priorityClassName" not in web
    job = pods(render({"migrations.extraVolumes": [ca], "migrations.extraVolumeMounts": [mount]}))
    assert job["migrate"]["volumes"] == [ca]
    assert job["migrate"]["containers"][0]["volumeMounts"] == [mount]


def test_brand_is_set_only_when_given_and_the_logo_only_in_the_web_pods() -> None:
    default = render()
    config = next(o for o in default if o["kind"] == "ConfigMap")["data"]
    assert not [key for key in config if key.startswith("BRAND_")]
    for pod in pods(default).values():
        assert "volumes" not in pod
        assert not [e for e in pod["containers"][0]["env"] if e["name"].startswith("BRAND_")]

    brand = yaml.safe_load(BRAND_VALUES.read_text("utf-8"))["config"]["brand"]
    objects = render(files=(BRAND_VALUES,))
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert {key: value for key, value in config.items() if key.startswith("BRAND_")} == {
        "BRAND_NAME": brand["name"],
        "BRAND_ACCENT": brand["accent"],
        "BRAND_HELP_URL": brand["helpUrl"],
        "BRAND_FOOTER": brand["footer"],
    }
    by_component = pods(objects)
    assert sorted(by_component) == ["api", "migrate", "reaper", "web"]
    for component, pod in by_component.items():
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if component != "web":
            assert "volumes" not in pod and "volumeMounts" not in container, component
            assert "BRAND_LOGO" not in env, component
            continue
        key = brand["logo"]["key"]
        assert env["BRAND_LOGO"] == f"{BRAND_MOUNT}/{key}"
        assert container["volumeMounts"] == [
            {"name": "brand", "mountPath": BRAND_MOUNT, "readOnly": True}
        ]
        (volume,) = pod["volumes"]
        assert volume["name"] == "brand"
        assert volume["configMap"]["name"] == brand["logo"]["configMap"]
        assert volume["configMap"]["items"] == [{"key": key, "path": key}]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"config.brand.accent": "0f62fe"}, "/config/brand/accent"),
        ({"config.brand.accent": "#fff"}, "/config/brand/accent"),
        ({"config.brand.helpUrl": "javascript:alert(1)"}, "/config/brand/helpUrl"),
        ({"config.brand.name": "n" * 41}, "/config/brand/name"),
        ({"config.brand.footer": "f" * 201}, "/config/brand/footer"),
        ({"config.brand.logo.configMap": "burnafter-brand"}, "/config/brand/logo/key"),
        ({"config.brand.logo.key": "logo.svg"}, "/config/brand/logo/configMap"),
        (
            {"config.brand.logo.configMap": "burnafter-brand", "config.brand.logo.key": "a.gif"},
            "/config/brand/logo/key",
        ),
    ],
    ids=[
        "accent-without-hash", "accent-short", "help-url-script", "name-too-long",
        "footer-too-long", "logo-without-key", "logo-without-configmap", "logo-gif",
    ],
)  # fmt: skip
def test_brand_values_the_settings_would_refuse_are_refused(
    values: dict[str, Any], says: str
) -> None:
    """Refused at install rather than by web pods that then fail to start."""
    assert says in render_error(values)


def test_sso_lets_the_open_page_load_the_brand() -> None:
    """The open and fill pages link /brand.css and /brand/logo: a recipient who is not
    signed in gets them too (neither holds anything but the operator's brand)."""
    objects = render({**POLICY, **SSO})
    open_ = next(o for o in objects if o["metadata"]["name"] == "burnafter-open")
    paths = {p["path"]: p["pathType"] for p in open_["spec"]["rules"][0]["http"]["paths"]}
    assert paths["/brand.css"] == "Prefix"
    assert paths["/brand/"] == "Prefix"


def tiny_png() -> bytes:
    """A 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0f\x62\xfe")  # one row: no filter, one RGB pixel
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.fixture
async def migrated_database(postgres: PostgresServer) -> str:
    return await create_database(postgres)


def test_the_web_pod_serves_the_brand_as_rendered(migrated_database: str, tmp_path: Path) -> None:
    """The web pod's command, with the environment the chart renders from
    ci/brand-values.yaml and the operator's ConfigMap where the pod mounts it (here a
    folder: only the mount's place differs), shows the brand and serves the logo."""
    objects = render(files=(BRAND_VALUES,))
    web = next(
        o
        for o in objects
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"]["app.kubernetes.io/component"] == "web"
    )
    (container,) = web["spec"]["template"]["spec"]["containers"]
    env = container_env(container, objects, {"burnafter-database/DATABASE_URL": migrated_database})
    logo = Path(env["BRAND_LOGO"])
    assert logo.parent == Path(BRAND_MOUNT)
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand" / logo.name).write_bytes(tiny_png())
    env["BRAND_LOGO"] = str(tmp_path / "brand" / logo.name)
    http, metrics = free_port(), free_port()
    env |= {"HTTP_PORT": str(http), "METRICS_PORT": str(metrics), "HTTP_HOST": "127.0.0.1"}
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "burnafter"), *container["args"]],
            env={"PATH": os.environ["PATH"], **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http}"
    try:
        wait_for_http(base + container["readinessProbe"]["httpGet"]["path"], process)
        with urllib.request.urlopen(base + "/brand/logo", timeout=5) as response:  # noqa: S310
            assert response.headers["Content-Type"] == "image/png"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            assert response.read() == tiny_png()
        with urllib.request.urlopen(base + "/brand.css", timeout=5) as response:  # noqa: S310
            assert "--accent:" in response.read().decode()
        with urllib.request.urlopen(base + "/", timeout=5) as response:  # noqa: S310
            page = response.read().decode()
        assert env["BRAND_NAME"] in page
        assert 'src="/brand/logo"' in page
        assert env["BRAND_HELP_URL"] in page
        assert env["BRAND_FOOTER"] in page
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    # #f59e0b is too light for text on the light pages: the web pod says what it used.
    events = [
        json.loads(line) for line in log.read_text("utf-8").splitlines() if line.startswith("{")
    ]
    (adjusted,) = [e for e in events if e.get("event") == "brand_accent_adjusted"]
    assert adjusted["accent"] == env["BRAND_ACCENT"] != adjusted["light"]
