"""Server hygiene: idle connections time out, connections are bounded, log lines are escaped,
error bodies show no server paths, unknown paths get the site's 404 page."""

import http.client
import logging
import socket
import threading
import time

import pytest

from hubzoo.serve import serve
from hubzoo.store import open_store
from tests.serve.conftest import HANDLE, running
from tests.store.helpers import fake_archive, publisher_manifest

NOT_FOUND_PAGE = b"<h1>404 - Not found</h1>"


def handler_threads() -> int:
    return sum("process_request_thread" in thread.name for thread in threading.enumerate())


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    result = response.status, response.read()
    connection.close()
    return result


def test_an_idle_connection_is_dropped_after_the_timeout(tmp_path):
    with running(open_store(str(tmp_path / "s")), None, timeout=0.5) as port:
        idle = socket.create_connection(("127.0.0.1", port), timeout=60)
        idle.sendall(b"GET /")  # half a request line, then silence
        assert idle.recv(1024) == b"", "the server closed the connection"
        idle.close()


def test_idle_connections_hold_at_most_max_connections_threads(tmp_path):
    store = open_store(str(tmp_path / "s"))
    with running(store, None, timeout=0.5, max_connections=3) as port:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(12)]
        try:
            deadline = time.monotonic() + 30
            while handler_threads() < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # give the server every chance to start more threads
            assert handler_threads() == 3

            status, _ = get(port, "/test/none/1.json")  # waits for a slot, then is served
            assert status == 404
        finally:
            for connection in idle:
                connection.close()


def test_request_paths_are_escaped_in_the_log(served, caplog):
    caplog.set_level(logging.INFO, logger="hubzoo.serve")
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    raw.sendall(b"GET /\x1b[2J\x1b]0;owned\x07/x\r HTTP/1.0\r\n\r\n")
    assert raw.recv(4096).startswith(b"HTTP/1.0 ")
    raw.close()
    deadline = time.monotonic() + 30
    while "GET /" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "GET /\\x1b[2J\\x1b]0;owned\\x07/x\\x0d HTTP/1.0" in caplog.text
    assert "\x1b" not in caplog.text and "\x07" not in caplog.text


def test_error_bodies_show_no_server_paths(served, tmp_path):
    broken = tmp_path / "broken-store"
    store = open_store(str(broken))
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    (broken / f"{HANDLE}.tar.gz").write_bytes(b"changed")
    with running(store, served.site) as port:
        for path in [f"/{HANDLE}.tar.gz", "/test/none/1.tar.gz", "/test/none/1", "/%00"]:
            status, body = get(port, path)
            assert status in (400, 404, 500)
            assert str(tmp_path).encode() not in body and b"/tmp" not in body
            assert str(served.site).encode() not in body


def test_unknown_paths_get_the_sites_404_page(served):
    (served.site / "404.html").write_bytes(NOT_FOUND_PAGE)
    try:
        for path in ["/nothing.html", "/modules/nothing/", "/test/fake/feature_vector/9"]:
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 404
            assert response.getheader("Content-Type") == "text/html"
            assert response.read() == NOT_FOUND_PAGE
            connection.close()
        status, body = get(served.port, "/test/fake/feature_vector/9.tar.gz")
        assert (status, body) == (404, b"no published module test/fake/feature_vector/9\n")
    finally:
        (served.site / "404.html").unlink()


def test_ctrl_c_while_a_connection_thread_starts_stops_the_server(tmp_path, monkeypatch):
    """Ctrl-C can land in `Thread.start` after the thread began, even after it ended: serve_forever
    must end with the KeyboardInterrupt (the slot was once released twice, and the ValueError that
    raised kept the server serving)."""
    server = serve(open_store(str(tmp_path / "s")), None, 0)
    started = threading.Thread.start

    def start_then_interrupted(thread: threading.Thread) -> None:
        started(thread)
        thread.join(timeout=10)
        raise KeyboardInterrupt

    socket.create_connection(server.server_address, timeout=10).close()
    monkeypatch.setattr(threading.Thread, "start", start_then_interrupted)
    still_serving = threading.Timer(10, server.shutdown)  # ends the test if the interrupt is lost
    started(still_serving)
    try:
        with pytest.raises(KeyboardInterrupt):
            server.serve_forever(poll_interval=0.05)
    finally:
        still_serving.cancel()
        monkeypatch.undo()
        server.server_close()
