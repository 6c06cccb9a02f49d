"""A stand-in for the judge's POST /v1/answers: records every batch a runtime reports (standard library only,
so the Seldon venv runs it too). It records any JSON POST with its path, so it also stands in for other
receivers (Alertmanager's alerts API)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AnswerSink:
    """Listens on a free port; ``batches`` holds what was posted, ``paths`` where, ``auth`` with what credentials."""

    def __init__(self):
        self.batches: list = []
        self.paths: list[str] = []
        self.auth: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                sink.paths.append(self.path)
                sink.auth.append(self.headers.get("Authorization", ""))
                sink.batches.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"joined": 0}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/v1/answers"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answers(self) -> dict[str, str]:
        """request id -> answer, over every batch."""
        return {rid: answer for batch in self.batches for rid, answer in batch["answers"]}

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()
