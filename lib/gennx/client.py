"""A client for the real GEN NX API, behind the same interface as the sandbox (`request`, `execute`).

Off unless both environment variables are set (never put the key in a file):

    export GENNX_MAPI_KEY=...        # GEN NX: Apps > API Settings
    export GENNX_BASE_URL=https://moa-engineers.midasit.com:443/gen   # the Base URL shown there

`connect()` returns this client when they are set and the sandbox otherwise, with a line saying which.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from .mapping import ApiRequest

ENV_KEY, ENV_URL = "GENNX_MAPI_KEY", "GENNX_BASE_URL"
DEFAULT_URL = "https://moa-engineers.midasit.com:443/gen"
HOW_TO_ENABLE = (f"the real GEN NX API is off: set {ENV_KEY} (GEN NX: Apps > API Settings) and, if your Base URL "
                 f"differs, {ENV_URL}; until then calls run in the course sandbox")


class GenNxClient:
    """Sends requests to a running GEN NX through the MIDAS API relay; answers like the sandbox (errors in the body)."""

    def __init__(self, base_url: str, key: str, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.last_status = 0

    @classmethod
    def from_env(cls) -> "GenNxClient | None":
        key = os.environ.get(ENV_KEY, "").strip()
        return cls(os.environ.get(ENV_URL, DEFAULT_URL), key) if key else None

    def __repr__(self) -> str:  # never show the key
        return f"GenNxClient({self.base_url!r})"

    def execute(self, req: ApiRequest) -> dict:
        return self.request(req.method, req.path, req.body)

    def request(self, method: str, path: str, body=None) -> dict:
        data = None if body is None or method.upper() in ("GET", "DELETE") else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method.upper(),
                                     headers={"MAPI-Key": self._key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                self.last_status = resp.status
                text = resp.read().decode("utf-8") or "{}"
        except urllib.error.HTTPError as err:
            self.last_status = err.code
            detail = err.read().decode("utf-8", "replace")[:200]
            meaning = {401: "invalid MAPI-Key", 404: "GEN NX is not connected (Apps > Connect in GEN NX)"}.get(err.code, "HTTP error")
            return {"error": {"message": f"{meaning} (HTTP {err.code}): {detail}"}}
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            self.last_status = 0
            return {"error": {"message": f"cannot reach {self.base_url}: {getattr(err, 'reason', err)}"}}
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return {"error": {"message": f"the API answered with non-JSON text: {text[:200]}"}}


def connect(echo=print):
    """The real API when configured, otherwise a fresh sandbox; says which."""
    client = GenNxClient.from_env()
    if client is not None:
        echo(f"GEN NX: real API at {client.base_url}")
        return client
    from .sandbox import GenNxSandbox

    echo(f"GEN NX: {HOW_TO_ENABLE}")
    return GenNxSandbox()
