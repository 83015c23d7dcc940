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
import urllib.parse
import urllib.request

from .mapping import ApiRequest

ENV_KEY, ENV_URL = "GENNX_MAPI_KEY", "GENNX_BASE_URL"
DEFAULT_URL = "https://moa-engineers.midasit.com:443/gen"
HOW_TO_ENABLE = (f"the real GEN NX API is off: set {ENV_KEY} (GEN NX: Apps > API Settings) and, if your Base URL "
                 f"differs, {ENV_URL}; until then calls run in the course sandbox")


class KeyProblem(ValueError):
    """A MAPI key that cannot be sent (a control character, e.g. a line break pasted with it)."""


def check_key(key: str) -> str:
    """The key, or KeyProblem saying what is wrong with it, never showing it."""
    bad = next((i for i, ch in enumerate(key) if ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise KeyProblem(f"{ENV_KEY} contains a control character at position {bad + 1} (a line break pasted with it?): "
                        "copy the key again from GEN NX (Apps > API Settings)")
    if not key.isascii():
        raise KeyProblem(f"{ENV_KEY} contains a non-ASCII character: copy the key again from GEN NX (Apps > API Settings)")
    return key


def _origin(url: str) -> tuple:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same origin: the MAPI-Key header must never reach another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if _origin(newurl) != _origin(req.full_url):
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to another origin ({_origin(newurl)[1]}) not "
                                         "followed, so that the API key is not sent there", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class GenNxClient:
    """Sends requests to a running GEN NX through the MIDAS API relay; answers like the sandbox (errors in the body)."""

    def __init__(self, base_url: str, key: str, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self._key = check_key(key)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_SameOriginRedirects)
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
            with self._opener.open(req, timeout=self.timeout) as resp:
                self.last_status = resp.status
                text = resp.read().decode("utf-8") or "{}"
        except urllib.error.HTTPError as err:
            self.last_status = err.code
            detail = (err.read() if err.fp else b"").decode("utf-8", "replace")[:200] or str(err.reason)
            meaning = {401: "invalid MAPI-Key", 404: "GEN NX is not connected (Apps > Connect in GEN NX)"}.get(err.code, "HTTP error")
            return {"error": {"message": self._scrub(f"{meaning} (HTTP {err.code}): {detail}")}}
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
            self.last_status = 0
            return {"error": {"message": self._scrub(f"cannot reach {self.base_url}: {getattr(err, 'reason', err)}")}}
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return {"error": {"message": self._scrub(f"the API answered with non-JSON text: {text[:200]}")}}

    def _scrub(self, text: str) -> str:
        """Error text as shown to the learner and the model: the key never appears in it."""
        return text.replace(self._key, "<MAPI-Key>") if self._key else text


def connect(echo=print):
    """The real API when configured, otherwise a fresh sandbox; says which."""
    try:
        client = GenNxClient.from_env()
    except KeyProblem as err:
        from .sandbox import GenNxSandbox

        echo(f"GEN NX: the real API is off: {err}; until then calls run in the course sandbox")
        return GenNxSandbox()
    if client is not None:
        echo(f"GEN NX: real API at {client.base_url}")
        return client
    from .sandbox import GenNxSandbox

    echo(f"GEN NX: {HOW_TO_ENABLE}")
    return GenNxSandbox()
