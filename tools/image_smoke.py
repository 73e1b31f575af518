"""``make image-smoke``: build the Dockerfile with podman and run every role from it.

No container registry is reachable, so the ``debian:bookworm-slim`` base is made
here with debootstrap and imported under that name; the Dockerfile is built from
it by its digest, as the Dockerfile pins its default base. The containers run as
non-root with a read-only root filesystem on the host network, against a private
PostgreSQL on loopback, and a secret created through the containerised api opens
with the CLI. The image must trust the CA certificates and carry the licence.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, TypedDict, Unpack

from services.dev.embedded_postgres import EmbeddedPostgres
from tools.net import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
BASE = "docker.io/library/debian:bookworm-slim"
IMAGE = "localhost/burnafter:ci"
BURNAFTER = Path(sys.executable).parent / "burnafter"


class RunOptions(TypedDict, total=False):
    """What ``run`` passes on to ``subprocess.run``, besides ``check``."""

    stdin: int | IO[Any] | None
    stdout: int | IO[Any] | None
    capture_output: bool
    input: str
    env: Mapping[str, str] | None


def run(
    *args: str, check: bool = True, **kwargs: Unpack[RunOptions]
) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, check=check, text=True, **kwargs)


def ensure_base_image(workdir: Path) -> None:
    if run("podman", "image", "exists", BASE, check=False).returncode == 0:
        return
    rootfs = workdir / "rootfs"
    run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian",
        stdout=subprocess.DEVNULL)  # fmt: skip
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run("podman", "import", "--quiet", "-", BASE, stdin=tar.stdout, stdout=subprocess.DEVNULL)
    tar.wait()


def build_image(workdir: Path) -> None:
    # pip inside the build trusts the host's CA bundle, named in a pip config.
    pip_conf = workdir / "pip.conf"
    pip_conf.write_text("[global]\ncert = /etc/ssl/certs/host-ca.crt\n")
    digest = run("podman", "image", "inspect", "--format", "{{.Digest}}", BASE,
                 capture_output=True).stdout.strip()  # fmt: skip
    run("podman", "build", "--quiet", "--network", "host", "--pull=never",
        "--build-arg", f"BASE_IMAGE={BASE}@{digest}",
        "-v", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/host-ca.crt:ro",
        "-v", f"{pip_conf}:/etc/pip.conf:ro", "-t", IMAGE, str(ROOT))  # fmt: skip


def container(name: str, role: str, env: dict[str, str]) -> None:
    flags = [f"--env={k}={v}" for k, v in env.items()]
    run("podman", "run", "--detach", "--name", name, "--network", "host", "--read-only",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *flags, IMAGE, role,
        stdout=subprocess.DEVNULL)  # fmt: skip


# What the image ships besides the code: the CA certificates Python's TLS trusts by
# default (HTTPS webhooks, sslmode=verify-full), and the licence in the wheel's metadata.
SHIPPED = """
import importlib.metadata, ssl
cas = ssl.create_default_context().cert_store_stats()["x509_ca"]
files = importlib.metadata.distribution("burnafter").files or []
licence = next(f for f in files if f.name == "LICENSE").read_text().split()
print(cas, " ".join(licence[:6]))
"""


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="burnafter-image-"))
    workdir.chmod(0o755)
    started = time.monotonic()
    ensure_base_image(workdir)
    build_image(workdir)
    config = json.loads(run("podman", "image", "inspect", IMAGE, capture_output=True).stdout)[0]
    user = config["Config"]["User"]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0", f"runs as {user!r}"
    root_write = run("podman", "run", "--rm", "--read-only", "--entrypoint", "sh", IMAGE,
                     "-c", "id -u; touch /probe", check=False, capture_output=True)  # fmt: skip
    assert root_write.returncode != 0 and root_write.stdout.strip() == "10001", root_write
    shipped = run("podman", "run", "--rm", "--read-only", "--entrypoint", "python3", IMAGE,
                  "-c", SHIPPED, capture_output=True)  # fmt: skip
    cas, licence = shipped.stdout.split(maxsplit=1)
    assert int(cas) > 50, f"the image trusts {cas} CA certificates"
    assert licence.strip() == "Apache License Version 2.0, January 2004", licence

    server = EmbeddedPostgres(workdir / "postgres", durable=False, tcp_port=free_port())
    server.start()
    names = [f"burnafter-ci-{role}" for role in ("api", "web", "reaper")]
    try:
        env = {"DATABASE_URL": server.url, "LOG_FORMAT": "json"}
        run("podman", "run", "--rm", "--network", "host", "--read-only",
            *[f"--env={k}={v}" for k, v in env.items()], IMAGE, "migrate")  # fmt: skip
        ports = {role: (free_port(), free_port()) for role in ("api", "web", "reaper")}
        for name, (role, (http, metrics)) in zip(names, ports.items(), strict=True):
            container(name, role, {**env, "HTTP_PORT": str(http), "METRICS_PORT": str(metrics)})
        wait_for_http(f"http://127.0.0.1:{ports['api'][0]}/readyz", seconds=60)
        wait_for_http(f"http://127.0.0.1:{ports['web'][0]}/readyz", seconds=60)
        wait_for_http(f"http://127.0.0.1:{ports['reaper'][1]}/metrics", seconds=60)
        server_url = f"http://127.0.0.1:{ports['api'][0]}"
        text = "smoke-test secret through the containers"
        sent = run(str(BURNAFTER), "send", "--server", server_url, input=text,
                   capture_output=True)  # fmt: skip
        opened = run(str(BURNAFTER), "open", sent.stdout.strip(), capture_output=True)
        assert opened.stdout == text + "\n", opened  # open ends the text with one newline
        again = run(str(BURNAFTER), "open", sent.stdout.strip(), check=False, capture_output=True)
        assert again.returncode == 3, again
        for name in names:
            run("podman", "stop", "--time", "15", name, stdout=subprocess.DEVNULL)
            state = json.loads(run("podman", "inspect", name, capture_output=True).stdout)[0]
            assert state["State"]["ExitCode"] == 0, (name, state["State"])
    finally:
        run("podman", "rm", "--force", *names, check=False, capture_output=True)
        server.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"image smoke test passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    os.environ.setdefault("BUILDAH_FORMAT", "docker")
    main()
