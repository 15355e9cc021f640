"""Debian's nginx on loopback serving a folder as a plain static web server (as a bucket or CDN
would): its own configuration, pid and logs in a temporary folder, stopped by pid."""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MIME_TYPES = Path("/etc/nginx/mime.types")

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, if installed (Debian: apt-get install nginx-light)."""
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def nginx_serving(root: Path, work: Path) -> Iterator[str]:
    """Serve `root` with nginx on 127.0.0.1; yields the base URL (no trailing slash)."""
    binary = nginx_binary()
    assert binary is not None, "nginx is not installed: python3.11 scripts/dev.py setup installs it"
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = work / "nginx.conf"
    config.write_text(
        CONFIG.format(
            # as root, workers would drop to nobody, who cannot read pytest's private tmp folders
            user="user root;" if os.geteuid() == 0 else "",
            work=work,
            mime_types=MIME_TYPES,
            port=port,
            root=root,
        )
    )
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not start listening within 10 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful stop of this master and its workers
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
