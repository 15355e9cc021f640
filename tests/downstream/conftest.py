"""Session fixtures for the downstream tests: a zoo (a local store served on loopback) that
publishes records through the real pipeline on demand, and page clients (the legacy venv's
`hub.Module` for TF1 pages, tensorflow_hub 0.16's `hub.KerasLayer` for TF2 pages), each one
long-running process that runs a page's python blocks per job."""

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devtools.legacy_venv import LEGACY_VENV
from hubzoo.paths import REPO_ROOT
from hubzoo.progress import Progress
from hubzoo.record import ModuleRecord
from hubzoo.store import Store, open_store
from pipeline.publish import PublishOptions, PublishSummary, publish
from tests.downstream import page_worker
from tests.legacy_helpers import legacy_python  # noqa: F401  (session fixture)
from tests.serve.conftest import running

FAILURE_MARK = "DOWNSTREAM-FAILURE"
"""Starts the line printed as soon as a downstream test fails (a time-capped sweep run is killed
before pytest's summary; devtools/downstream_sweep.py collects these lines)."""
JOB_TIMEOUT = 900.0
"""Seconds a page job may take (the largest nets, fine-tuned in the legacy client, under load)."""


_configs: list = []


def pytest_configure(config) -> None:
    _configs.append(config)


def pytest_runtest_logreport(report) -> None:
    """Print a failed downstream test's first error line at once."""
    if not (report.failed and report.nodeid.startswith("tests/downstream/") and _configs):
        return
    terminal = _configs[-1].pluginmanager.get_plugin("terminalreporter")
    lines = [line for line in report.longreprtext.splitlines() if line.startswith("E ")]
    reason = lines[0][1:].strip() if lines else report.longreprtext.strip()[-200:]
    if terminal is not None:
        terminal.write_line(f"{FAILURE_MARK} {report.nodeid} ({report.when}): {reason}")


@dataclass
class Zoo:
    """A local store served on 127.0.0.1; publishes each record at most once per session."""

    store: Store
    base_url: str
    published: dict[str, PublishSummary] = field(default_factory=dict)

    def publish(self, record: ModuleRecord) -> PublishSummary:
        """`record` published from its synthetic checkpoint by the real pipeline."""
        if record.handle not in self.published:
            options = PublishOptions(
                record.handle, synthetic=True, store_url=self.store.url, build_site=False
            )
            self.published[record.handle] = publish(options, Progress(quiet=True))
        return self.published[record.handle]

    def url(self, handle: str) -> str:
        """Where a client loads `handle` from."""
        return f"{self.base_url}/{handle}"


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory) -> Path:
    """tensorflow_hub's download cache for this session, in this process and the workers."""
    folder = tmp_path_factory.mktemp("hub-cache")
    previous = os.environ.get("TFHUB_CACHE_DIR")
    os.environ["TFHUB_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("TFHUB_CACHE_DIR", None)
    else:
        os.environ["TFHUB_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def zoo(tmp_path_factory, hub_cache) -> Zoo:
    store = open_store(str(tmp_path_factory.mktemp("downstream-store")))
    with running(store, None) as port:
        yield Zoo(store, f"http://127.0.0.1:{port}")


class PageWorker:
    """One `page_worker.py` process; `run(job)` sends a job and waits for its result."""

    def __init__(self, python: Path, mode: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [str(python), page_worker.__file__, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(page_worker.RESULT_PREFIX):
                self._lines.put(line[len(page_worker.RESULT_PREFIX) :])
        self._lines.put("")  # the worker ended

    def run(self, job: dict) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        try:
            line = self._lines.get(timeout=JOB_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"page worker: no result in {JOB_TIMEOUT:.0f} s") from None
        if not line:
            tail = self.log.read_text()[-3000:]
            raise AssertionError(f"page worker ended (status {self.process.poll()}):\n{tail}")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@pytest.fixture(scope="session")
def page_clients(legacy_python, hub_cache, tmp_path_factory):  # noqa: F811
    """Page workers by page kind, started on first use: 'tf1' in the legacy venv, 'tf2' here."""
    logs = tmp_path_factory.mktemp("page-workers")
    common = {"PYTHONPATH": str(REPO_ROOT), "TFHUB_CACHE_DIR": str(hub_cache)}
    environments = {
        "tf1": (legacy_python, LEGACY_VENV.environment(common)),
        "tf2": (
            Path(sys.executable),
            {**os.environ, **common, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
        ),
    }
    workers: dict[str, PageWorker] = {}

    def client(kind: str) -> PageWorker:
        if kind not in workers:
            python, env = environments[kind]
            workers[kind] = PageWorker(python, kind, env, logs / f"{kind}.log")
        return workers[kind]

    yield client
    for worker in workers.values():
        worker.close()
