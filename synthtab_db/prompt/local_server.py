"""Serve a local transformers checkpoint over the OpenAI-compatible chat API.

``POST /v1/chat/completions`` with ``messages`` (and optionally ``response_format``
of type ``json_schema`` or ``json_object``, which turns on JSON-constrained
decoding) answers as llama.cpp's server, vLLM or Ollama would.  It lets the
``openai`` backend be tried end to end on one machine, and lets several
connections share one loaded model.  Not hardened for untrusted networks: bind to
127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from synthtab_db.prompt.backends import load

JSON_FORMATS = {"json_schema", "json_object"}


def reply_body(path: str, request: dict) -> dict:
    from synthtab_db.prompt.local_model import generate  # noqa: PLC0415

    response_format = request.get("response_format") or {}
    json_only = response_format.get("type") in JSON_FORMATS
    schema = (response_format.get("json_schema") or {}).get("schema")
    text = generate(load(path), request["messages"], json_only, int(request.get("max_tokens") or 1024), schema)
    return {"object": "chat.completion", "model": request.get("model", "local"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}


def handler_for(path: str) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # one generation at a time: a model is not thread-safe to share

    class ChatHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with lock:
                    body = reply_body(path, request)
            except (ValueError, KeyError, TypeError) as err:
                return self._send(400, {"error": {"message": f"bad request: {err}"}})
            self._send(200, body)

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return ChatHandler


def serve(path: str, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A started server in a daemon thread; ``server.server_address`` has the port, ``shutdown()`` stops it."""
    load(path)
    server = ThreadingHTTPServer((host, port), handler_for(path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
