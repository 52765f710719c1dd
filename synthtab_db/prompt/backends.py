"""Language-model backends by name: adding one adds an entry to BACKENDS.

A backend answers a chat (``[{"role": …, "content": …}]``) with text; given a JSON
schema it keeps its answer to JSON where it can (the OpenAI-compatible
``response_format``; constrained decoding for a local checkpoint).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from synthtab_db.errors import SynthError
from synthtab_db.prompt.settings import LlmSettings

Messages = list[dict[str, str]]


class Backend(Protocol):
    def complete(self, messages: Messages, json_schema: dict | None) -> str: ...


class OpenAIBackend:
    """Any server speaking POST {endpoint}/chat/completions: llama.cpp, vLLM, Ollama, a hosted API."""

    def __init__(self, settings: LlmSettings):
        if not settings.endpoint:
            raise SynthError("llm = 'openai' needs WITH (endpoint = 'http://host:port/v1') or SET synthtab.llm_endpoint")
        self.settings = settings

    def complete(self, messages: Messages, json_schema: dict | None) -> str:
        body = {"model": self.settings.model or "default", "messages": messages, "temperature": 0,
                "max_tokens": self.settings.max_new_tokens}
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "database", "schema": json_schema}}
        reply = self._post("/chat/completions", body)
        try:
            return reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise SynthError(f"the endpoint {self.settings.endpoint} answered without choices[0].message.content: "
                             f"{json.dumps(reply)[:300]}") from None

    def _post(self, route: str, body: dict) -> dict:
        url = self.settings.endpoint.rstrip("/") + route
        request = urllib.request.Request(url, json.dumps(body).encode(), self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            raise SynthError(f"language model endpoint {url} refused the request: HTTP {err.code} {detail}") from None
        except urllib.error.URLError as err:
            raise _unreachable(url, err.reason) from None
        except OSError as err:  # a timeout or a dropped connection
            raise _unreachable(url, err) from None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.settings.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers


def _unreachable(url: str, reason: object) -> SynthError:
    return SynthError(f"language model endpoint {url} is unreachable ({reason}): start the server or fix "
                      "WITH (endpoint = …)")


class TransformersBackend:
    """A causal LM checkpoint on disk (AutoModelForCausalLM + its tokenizer), decoded greedily."""

    def __init__(self, settings: LlmSettings):
        if not settings.path:
            raise SynthError("llm = 'transformers' needs WITH (path = '/dir/of/checkpoint') or SET synthtab.llm_path")
        if not (Path(settings.path) / "config.json").is_file():
            raise SynthError(f"no transformers checkpoint at {settings.path} (no config.json there)")
        self.settings = settings

    def complete(self, messages: Messages, json_schema: dict | None) -> str:
        from synthtab_db.prompt.local_model import generate  # noqa: PLC0415 (torch only when used)

        return generate(load(self.settings.path), messages, json_schema is not None, self.settings.max_new_tokens,
                        json_schema)


@lru_cache(maxsize=2)
def load(path: str):
    """One loaded checkpoint per path, shared by statements and the local server."""
    from synthtab_db.prompt.local_model import LocalModel  # noqa: PLC0415

    try:
        return LocalModel.from_path(path)
    except ImportError as err:
        raise SynthError(f"llm = 'transformers' needs the gpt extra: pip install 'synthtab-db[gpt]' ({err})") from None


BACKENDS: dict[str, type] = {"openai": OpenAIBackend, "transformers": TransformersBackend}


def backend_for(settings: LlmSettings) -> Backend:
    factory = BACKENDS.get(settings.llm.lower())
    if factory is None:
        raise SynthError(f"unknown llm {settings.llm!r}; allowed: {', '.join(BACKENDS)}")
    return factory(settings)
