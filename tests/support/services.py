"""burnafter's services for the tests: settings of an in-process app, and real
processes started with the ``burnafter`` command."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.server.settings import Settings, load_settings
from tests.support.leaks import LEAK_WATCH
from tools.net import free_port, wait_for_http


def make_settings(database_url: str, **env: str) -> Settings:
    """Settings for an in-process app: no metrics port and no rate limits unless a
    test asks for them."""
    base = {
        "DATABASE_URL": database_url,
        "HTTP_HOST": "127.0.0.1",
        "METRICS_PORT": "0",
        "RATE_LIMIT_CREATE": "0",
        "RATE_LIMIT_PEEK": "0",
        "RATE_LIMIT_REVEAL": "0",
        "RATE_LIMIT_RECEIPT": "0",
        "RATE_LIMIT_ADMIN_SIGN_IN": "0",
    }
    return load_settings({**base, **env})


class PortTaken(Exception):
    """The service could not bind its port: another process took it first."""


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    metrics_port: int

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until ``url``/readyz (or ``url`` itself, when it is a metrics URL) answers 200."""
    probe = url if url.endswith("/metrics") else f"{url}/readyz"
    wait_for_http(probe, process, timeout)


def _launch(
    bin_dir: Path, folder: Path, role: str, database_url: str, port: int, env: dict[str, str]
) -> ServiceProcess:
    """Start ``burnafter ROLE`` and wait until it is ready; stop it if it is not."""
    # One file per process: ports are reused within a session, processes are not.
    log = folder / f"{role}-{port}-{secrets.token_hex(4)}.log"
    LEAK_WATCH.log_files.append(log)
    metrics_port = free_port()
    while metrics_port == port:
        metrics_port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "LOG_FORMAT": "json",
        "METRICS_PORT": str(metrics_port),
        # Racing tests run two api processes, in several workers at once: with the
        # default pool of 20 they could pass 100 connections, the maximum of a
        # PostgreSQL such as the machine's that TEST_DATABASE_URL may name.
        "DB_POOL_MAX": "8",
        **env,
    }
    with log.open("xb") as out:
        process = subprocess.Popen(
            [str(bin_dir / "burnafter"), role], env=environment, stdout=out, stderr=out
        )
    service = ServiceProcess(process, f"http://127.0.0.1:{port}", log, metrics_port)
    try:
        if role in ("api", "web"):
            wait_ready(service.url, process)
        elif role == "reaper":
            wait_ready(service.metrics_url, process)
    except AssertionError as failed:
        service.stop()
        output = log.read_text()
        if "address already in use" in output:
            raise PortTaken(port) from None
        raise AssertionError(f"{failed}; its log ends:\n{output[-2000:]}") from None
    return service


def start_service_process(
    bin_dir: Path,
    folder: Path,
    role: str,
    database_url: str,
    port: int | None,
    env: dict[str, str],
) -> ServiceProcess:
    """A ready ``burnafter ROLE`` process. A free port found here can be taken by
    another xdist worker before the service binds it; the service then exits at once
    and starts again on another port (unless the test chose the port)."""
    for _ in range(3):
        try:
            return _launch(bin_dir, folder, role, database_url, port or free_port(), env)
        except PortTaken:
            if port is not None:
                raise
    return _launch(bin_dir, folder, role, database_url, free_port(), env)
