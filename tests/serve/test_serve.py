"""Serving the store and the site over HTTP on loopback."""

import hashlib
import http.client
import logging
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.serve import serve
from tests.serve.conftest import HANDLE, SECRET

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "serve.py"


def get(served, path: str, method: str = "GET") -> http.client.HTTPResponse:
    """Send `path` exactly as given (no client-side normalisation) and read the response."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.mark.parametrize("path", [f"/{HANDLE}?tf-hub-format=compressed", f"/{HANDLE}.tar.gz"])
def test_archive_routes_return_the_published_bytes(served, path):
    response = get(served, path)
    assert response.status == 200
    assert response.body == served.artifact.path.read_bytes()
    assert hashlib.sha256(response.body).hexdigest() == served.artifact.sha256
    assert response.getheader("Content-Type") == "application/gzip"
    assert response.getheader("Content-Length") == str(served.artifact.bytes)
    assert response.getheader("ETag") == f'"{served.artifact.sha256}"'


def test_head_of_an_archive_has_headers_and_no_body(served):
    response = get(served, f"/{HANDLE}.tar.gz", method="HEAD")
    assert response.status == 200
    assert response.getheader("Content-Length") == str(served.artifact.bytes)
    assert response.body == b""


@pytest.mark.parametrize(
    "path",
    ["/test/fake/feature_vector/2?tf-hub-format=compressed", "/test/fake/feature_vector/2.tar.gz"],
)
def test_unknown_handle_is_a_plain_404(served, path):
    response = get(served, path)
    assert response.status == 404
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert response.body.decode() == "no published module test/fake/feature_vector/2\n"


def test_other_formats_and_non_handles_are_refused(served):
    response = get(served, f"/{HANDLE}?tf-hub-format=uncompressed")
    assert response.status == 400
    assert b"only tf-hub-format=compressed is served" in response.body
    response = get(served, "/assets/style.css?tf-hub-format=compressed")
    assert response.status == 404
    assert response.body == b"assets/style.css is not a module handle\n"


def test_a_handle_without_query_redirects_to_its_page(served):
    response = get(served, f"/{HANDLE}")
    assert response.status == 302
    assert response.getheader("Location") == f"/modules/{HANDLE}/"
    page = get(served, f"/modules/{HANDLE}/")
    assert page.status == 200
    assert page.body == b"<h1>Module test/fake/feature_vector/1</h1>"
    unknown = get(served, "/test/fake/feature_vector/9")
    assert unknown.status == 404
    assert b"no published module test/fake/feature_vector/9" in unknown.body


def test_site_files_and_folders_are_served(served):
    index = get(served, "/")
    assert (index.status, index.body) == (200, b"<h1>hubzoo</h1>")
    assert index.getheader("Content-Type") == "text/html"
    css = get(served, "/assets/style.css")
    assert (css.status, css.body, css.getheader("Content-Type")) == (200, b"h1 {}", "text/css")
    folder = get(served, "/modules/test/fake")
    assert folder.status == 301
    assert folder.getheader("Location") == "/modules/test/fake/"
    inside_link = get(served, "/inside.css")
    assert (inside_link.status, inside_link.body) == (200, b"h1 {}")
    missing = get(served, "/nothing.html")
    assert (missing.status, missing.body) == (404, b"not found\n")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "//secret.txt",
        "/leak.txt",
        "/outside/secret.txt",
        "/outside/",
        "/%00/../secret.txt",
        "ABSOLUTE",
        "/../secret.txt?tf-hub-format=compressed",
        "/../store/test/fake/feature_vector/1.tar.gz",
    ],
)
def test_no_request_reaches_outside_the_store_or_the_site(served, path):
    if path == "ABSOLUTE":
        path = str(served.secret)
    response = get(served, path)
    assert response.status in (400, 404)
    assert SECRET not in response.body
    assert response.body != served.artifact.path.read_bytes()


def test_serve_binds_loopback_only_and_reports_a_busy_port(served):
    with pytest.raises(HubzooError, match=f"cannot listen on 127.0.0.1:{served.port}"):
        serve(served.store, served.site, served.port)


def ctrl_c_as_in_a_terminal() -> None:
    """In the child before exec: SIGINT neither ignored nor blocked, as a terminal's Ctrl-C finds a
    process, whatever this suite's process inherited or a library in it changed (a child inherits
    both; in the full suite the child once let SIGINT pass unnoticed)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_serve_script_serves_until_ctrl_c(served, tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--store",
            served.store.url,
            "--site",
            str(served.site),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving {served.site} and store {served.store.url} at ")
        url = line.split(" at ")[1].strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}{HANDLE}.tar.gz", timeout=10) as response:
            assert response.read() == served.artifact.path.read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    assert stdout.endswith("Stopped.\n")
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert f"GET /{HANDLE}.tar.gz" in stderr


def test_serve_script_reports_a_missing_site_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--store",
            str(tmp_path / "s"),
            "--site",
            str(tmp_path / "no"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"serve: site folder {tmp_path / 'no'} does not exist; build the site or pass --site\n"
    )


def test_a_damaged_manifest_is_a_plain_500_without_server_paths(served, caplog):
    broken = Path(served.store.url) / "test/broken/feature_vector/1.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{")
    caplog.set_level(logging.ERROR, logger="hubzoo.serve")
    for path in ["/test/broken/feature_vector/1.tar.gz", "/test/broken/feature_vector/1.json"]:
        response = get(served, path)
        assert response.status == 500
        assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert response.body == b"refusing to serve a damaged version; the server's log says why\n"
    assert f"{broken} is not valid JSON" in caplog.text


def test_serve_script_never_creates_a_missing_store(tmp_path, served):
    missing = tmp_path / "no" / "store"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--store", str(missing), "--site", str(served.site)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == f"serve: cannot open store {missing}: no such folder\n"
    assert not (tmp_path / "no").exists()
