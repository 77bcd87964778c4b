"""A real browser against `make up-local`: the Airflow UI lists every stream DAG within 10 s.

    make up-local && .venv/bin/python tests/sandbox/browser_check.py

Headless Chromium (Debian package `chromium`, `apt-get install -y chromium`) driven over the
DevTools protocol with the `websocket-client` package (installed with the airflow extra),
so no browser download is needed. It logs in the way the UI's login form does (the simple
auth manager's JWT in the `_token` cookie, from the stack's generated admin password), opens
the DAG list, and polls what the page shows until every DAG the merge handler configured
(stream and transformer DAGs, read from the merge database as `up` does) is on it: at most
10 s from opening the page.

Exit 0 with `browser_dags_visible_s=<seconds>`; 1 naming what is missing; 77 (skipped, the
reason on stderr) when chromium, websocket-client or a running stack is absent.
`tests/sandbox/test_browser.py` runs it after its own `up`, marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from datasurface import local_airflow, local_stack  # noqa: E402

SKIP = 77
VISIBLE_WITHIN_S = 10.0
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
]


class Skip(Exception):
    pass


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise Skip("no chromium on PATH (Debian: apt-get install -y chromium)")


class DevTools:
    """The smallest DevTools client: one page target, request/response by id."""

    def __init__(self, ws_url: str) -> None:
        try:
            import websocket
        except ImportError as exc:
            raise Skip(f"websocket-client is not installed ({exc})") from None
        self._ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self._next = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        self._ws.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        self._ws.close()


def _page_ws_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes its DevTools port to DevToolsActivePort in the profile."""
    import urllib.request

    deadline = time.monotonic() + 60
    port_file = profile / "DevToolsActivePort"
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"chromium did not start (exit {process.poll()})")
        time.sleep(0.1)
    port = int(port_file.read_text().splitlines()[0])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
        pages = [t for t in json.loads(response.read()) if t["type"] == "page"]
    return str(pages[0]["webSocketDebuggerUrl"])


#: Every DAG id the page links to or shows, whatever the display names are.
_SHOWN = """(() => {
  const seen = new Set();
  for (const a of document.querySelectorAll('a[href]')) {
    const m = a.getAttribute('href').match(/\\/dags\\/([^/?#]+)/);
    if (m) seen.add(decodeURIComponent(m[1]));
  }
  return {ids: [...seen], text: document.body ? document.body.innerText : ''};
})()"""


def check(state: Path, pg_port: int, airflow_port: int) -> float:
    """Seconds from opening the DAG list until every configured DAG is shown."""
    paths = local_stack.Paths(REPO, state)
    base = f"http://127.0.0.1:{airflow_port}"
    password = local_airflow.admin_password(paths)
    # A busy API server may take more than one 2 s probe to answer.
    answering = False
    for _ in range(15):
        answering = local_airflow._http_ok(f"{base}/api/v2/monitor/health")
        if answering:
            break
        time.sleep(1)
    if password is None or not answering:
        raise Skip(f"no local stack answering at {base} (run `make up-local` first)")
    merge_url = f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/{local_stack.MERGE_DB}"
    expected = local_airflow.expected_stream_dag_ids(merge_url)
    token = local_airflow.airflow_token(base, password)
    profile = Path(tempfile.mkdtemp(prefix="ds-chromium-"))
    process = subprocess.Popen(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tools = DevTools(_page_ws_url(profile, process))
        try:
            tools.call("Network.enable")
            tools.call("Network.setCookie", name="_token", value=token, url=f"{base}/", httpOnly=True)
            started = time.monotonic()
            tools.call("Page.navigate", url=f"{base}/dags")
            shown: set[str] = set()
            text = ""
            while time.monotonic() - started < VISIBLE_WITHIN_S:
                value = tools.evaluate(_SHOWN) or {}
                shown, text = set(value.get("ids", [])), str(value.get("text", ""))
                if all(d in shown or d in text for d in expected):
                    return time.monotonic() - started
                time.sleep(0.25)
            missing = sorted(d for d in expected if d not in shown and d not in text)
            raise AssertionError(
                f"after {VISIBLE_WITHIN_S:.0f} s the Airflow UI at {base}/dags does not show {missing}; "
                f"it shows: {text[:500]!r}"
            )
        finally:
            tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    state = Path(os.environ.get("DATASURFACE_LOCAL_STATE", REPO / ".sandbox")).resolve()
    pg_port = int(os.environ.get(local_stack.PG_PORT_ENV, local_stack.DEFAULT_PORT))
    airflow_port = int(os.environ.get(local_stack.AIRFLOW_PORT_ENV, local_stack.DEFAULT_AIRFLOW_PORT))
    try:
        seconds = check(state, pg_port, airflow_port)
    except Skip as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return SKIP
    except AssertionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"browser_dags_visible_s={seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
