"""The real-API client against a local HTTP server that plays GEN NX's documented responses."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lib.gennx import client
from lib.gennx.catalogue import load_catalogue
from lib.gennx.sandbox import GenNxSandbox

KEY = "test-key-123"


class FakeGenNx(BaseHTTPRequestHandler):
    """Documented behaviour: MAPI-Key header, 401 for a bad key, 404 when the app is not connected,
    201 + echo for POST /db, errors in a 200 body."""
    seen = []

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        FakeGenNx.seen.append((self.command, self.path, self.headers, body))  # headers: case-insensitive
        if self.headers.get("MAPI-Key") != KEY:
            return self._reply(401, {"message": "Unauthorized"})
        if self.path.startswith("/gen/disconnected"):
            return self._reply(404, {"message": "client does not exist"})
        if self.command == "POST" and self.path == "/gen/db/NODE":
            if "1" in body["Assign"] and FakeGenNx.seen[:-1] and any(p == "/gen/db/NODE" for _, p, _, _ in FakeGenNx.seen[:-1]):
                return self._reply(200, {"error": {"message": "Key Already Exist"}})
            return self._reply(201, {"NODE": body["Assign"]})
        return self._reply(200, {"message": "MIDAS GEN NX command complete"})

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeGenNx.seen = []
    httpd = HTTPServer(("127.0.0.1", 0), FakeGenNx)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/gen"
    httpd.shutdown()


def test_off_without_a_key(monkeypatch):
    monkeypatch.delenv(client.ENV_KEY, raising=False)
    said = []
    backend = client.connect(echo=said.append)
    assert isinstance(backend, GenNxSandbox) and "GENNX_MAPI_KEY" in said[0]


def test_calls_reach_the_api_with_the_key_header(server, monkeypatch):
    monkeypatch.setenv(client.ENV_KEY, KEY)
    monkeypatch.setenv(client.ENV_URL, server)
    api = client.connect(echo=lambda _: None)
    assert isinstance(api, client.GenNxClient) and KEY not in repr(api)
    request = load_catalogue().to_request("create_node", {"id": 1, "x": 0, "y": 0, "z": 0})
    assert api.execute(request) == {"NODE": {"1": {"X": 0, "Y": 0, "Z": 0}}} and api.last_status == 201
    method, path, headers, body = FakeGenNx.seen[-1]
    assert (method, path, body) == ("POST", "/gen/db/NODE", {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}})
    assert headers["MAPI-Key"] == KEY and headers["Content-Type"] == "application/json"
    assert api.execute(request) == {"error": {"message": "Key Already Exist"}}
    assert api.request("DELETE", "/db/NODE/1,2") == {"message": "MIDAS GEN NX command complete"}
    assert FakeGenNx.seen[-1][1] == "/gen/db/NODE/1,2" and FakeGenNx.seen[-1][3] is None


def test_http_errors_become_gen_nx_errors(server):
    bad_key = client.GenNxClient(server, "wrong")
    assert bad_key.request("GET", "/db/NODE")["error"]["message"].startswith("invalid MAPI-Key (HTTP 401)")
    good = client.GenNxClient(server, KEY)
    assert "not connected" in good.request("GET", "/disconnected")["error"]["message"]
    unreachable = client.GenNxClient("http://127.0.0.1:9", KEY, timeout=2)
    assert unreachable.request("GET", "/db/NODE")["error"]["message"].startswith("cannot reach")


class Redirector(BaseHTTPRequestHandler):
    """Answers every request with a 307 to `target` (another origin, or the same one)."""
    target = ""

    def _handle(self):
        self.send_response(307)
        self.send_header("Location", Redirector.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _handle

    def log_message(self, *args):
        pass


def test_a_redirect_to_another_origin_is_not_followed_with_the_key(server):
    httpd = HTTPServer(("127.0.0.1", 0), Redirector)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        Redirector.target = server.removesuffix("/gen").replace("127.0.0.1", "localhost")   # another origin
        api = client.GenNxClient(f"http://127.0.0.1:{httpd.server_address[1]}/gen", KEY)
        response = api.request("GET", "/db/NODE")
        assert "redirect to another origin" in response["error"]["message"] and FakeGenNx.seen == []
        Redirector.target = server.removesuffix("/gen")                                   # a different port is another origin too
        assert "another origin" in api.request("GET", "/db/NODE")["error"]["message"] and FakeGenNx.seen == []
    finally:
        httpd.shutdown()


@pytest.mark.parametrize("key", ["abc\r\nX-Evil: 1", "abc\ndef", "ab\x1bc", "ключ"])
def test_a_key_with_control_characters_is_refused_before_use_and_never_shown(monkeypatch, key):
    with pytest.raises(client.KeyProblem) as err:
        client.GenNxClient("http://127.0.0.1:9/gen", key)
    assert key not in str(err.value) and "copy the key again" in str(err.value)
    monkeypatch.setenv(client.ENV_KEY, key)
    said = []
    assert isinstance(client.connect(echo=said.append), GenNxSandbox)     # falls back, says why, shows no key
    assert "copy the key again" in said[0] and key.strip() not in said[0]


def test_error_text_never_carries_the_key(server):
    class Echo(FakeGenNx):
        def _handle(self):
            self._reply(500, {"message": f"bad header {self.headers.get('MAPI-Key')}"})
        do_GET = _handle

    httpd = HTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        message = client.GenNxClient(f"http://127.0.0.1:{httpd.server_address[1]}/gen", KEY).request("GET", "/db/NODE")["error"]["message"]
        assert KEY not in message and "<MAPI-Key>" in message
    finally:
        httpd.shutdown()
