"""A SCIM 2.0 service standing in for IAM Identity Center's SCIM endpoint in tests: the
`scim2-server` package (PyPI) in memory, behind a static bearer token, on a loopback port.

A small fault layer in front of it lets a test make the peer answer like a busy or picky
service: `POST /faults` with `{"throttle": N}` answers the next N SCIM requests `429`, and
`{"reject": "text"}` answers `400` to any create whose body contains `text`. `GET /stats`
counts requests by method. Everything else is the package's own behaviour.

Usage: python scim_peer.py PORT TOKEN
"""

import json
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server, WSGIRequestHandler

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def build(token):
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    return BearerTokenApplication(
        InMemoryStorage(), provider, service=ScimService(provider, secret="peer"), bearer_tokens=[token]
    )


def main():
    port, token = int(sys.argv[1]), sys.argv[2]
    scim = build(token)
    lock = threading.Lock()
    state = {"throttle": 0, "reject": None, "stats": {}}

    def answer(start, status, body):
        data = json.dumps(body).encode()
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def app(environ, start):
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if path == "/faults" and method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            faults = json.loads(environ["wsgi.input"].read(size) or b"{}")
            with lock:
                state["throttle"] = int(faults.get("throttle", 0))
                state["reject"] = faults.get("reject")
            return answer(start, "204 No Content", {})
        if path == "/stats":
            with lock:
                return answer(start, "200 OK", state["stats"])
        with lock:
            state["stats"][method] = state["stats"].get(method, 0) + 1
            if state["throttle"] > 0:
                state["throttle"] -= 1
                return answer(start, "429 Too Many Requests", {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "429", "detail": "slow down"})
            reject = state["reject"]
        if method == "POST" and reject:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(size)
            if reject.encode() in raw:
                return answer(start, "400 Bad Request", {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400", "scimType": "invalidValue",
                    "detail": "this test peer refuses this object"})
            import io
            environ["wsgi.input"] = io.BytesIO(raw)
        return scim(environ, start)

    with make_server("127.0.0.1", port, app, server_class=Server, handler_class=Quiet) as server:
        print("ready", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
