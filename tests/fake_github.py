"""A local fake of the few GitHub REST API endpoints the workflows reach, on 127.0.0.1.

Serves what a test feeds it (workflow runs, their jobs and reviews; the pull requests of a commit)
and records what the workflows write (comments, issues), for the act runs of
tests/integration/test_workflows_under_act.py. The shapes follow GitHub's REST API ("REST API
endpoints for workflow runs": ``workflow_runs[]``, the run's jobs and approvals; "REST API
endpoints for issue comments"; "REST API endpoints for issues"); only the fields the workflows and
scripts/renewal.py read are filled. Every request must carry the run's token
(``Authorization: Bearer …``). Started and stopped by the test (a context manager), on a port
the system picks; each request is answered in a thread with a socket timeout.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGitHub:
    repository: str
    token: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    approvals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls_of_commit: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, target: str, body: Any) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        parts = parsed.path.strip("/").split("/")
        prefix = ["repos", *self.repository.split("/")]
        if parts[:3] != prefix:
            return 404, {"message": "Not Found"}
        rest = parts[3:]
        if method == "GET" and rest[:4] == ["actions", "workflows", "deploy.yml", "runs"]:
            # The filters as GitHub applies them: `branch` matches head_branch (a tag push's too).
            runs = [
                run
                for run in self.runs
                if run.get("head_branch") == query.get("branch", run.get("head_branch"))
                and run.get("event") == query.get("event", run.get("event"))
            ]
            runs.sort(key=lambda run: int(run["run_number"]), reverse=True)
            return 200, {"total_count": len(runs), "workflow_runs": runs[: int(query.get("per_page", 30))]}
        if method == "GET" and rest[:2] == ["actions", "runs"] and len(rest) == 4:
            run_id = int(rest[2])
            if rest[3] == "jobs":
                return 200, {"total_count": len(self.jobs.get(run_id, [])), "jobs": self.jobs.get(run_id, [])}
            if rest[3] == "approvals":
                return 200, self.approvals.get(run_id, [])
        if method == "GET" and rest[:1] == ["commits"] and rest[2:] == ["pulls"]:
            return 200, self.pulls_of_commit.get(rest[1], [])
        if rest[:1] == ["issues"] and len(rest) == 3 and rest[2] == "comments":
            number = int(rest[1])
            if method == "GET":
                return 200, self.comments.get(number, [])
            if method == "POST":
                comment = {"id": 1000 + sum(map(len, self.comments.values())), "body": body["body"]}
                self.comments.setdefault(number, []).append(comment)
                return 201, comment
        if method == "PATCH" and rest[:2] == ["issues", "comments"] and len(rest) == 3:
            for comment in (c for cs in self.comments.values() for c in cs):
                if comment["id"] == int(rest[2]):
                    comment["body"] = body["body"]
                    return 200, comment
            return 404, {"message": "Not Found"}
        if rest == ["issues"]:
            if method == "GET":
                return 200, [issue for issue in self.issues if issue["state"] == query.get("state", "open")]
            if method == "POST":
                issue = {"number": 100 + len(self.issues), "state": "open", "comments": [], **body}
                self.issues.append(issue)
                return 201, issue
        return 404, {"message": "Not Found"}


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 30

        def handle_one(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append((method, self.path))
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                status, answer = 401, {"message": "Bad credentials"}
            else:
                status, answer = fake.answer(method, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.handle_one("GET")

        def do_POST(self) -> None:
            self.handle_one("POST")

        def do_PATCH(self) -> None:
            self.handle_one("PATCH")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
