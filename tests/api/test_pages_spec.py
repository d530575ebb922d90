"""pages.yaml is the contract of the pages behind qr_link: it is their route table (every route under
/qr/ is one of its operations, handled by the function its operationId names), every answer they
give (page or flow, success or error) is one it writes down (status, media type, headers, the JSON by
its schema) and every answer it writes down is given; the bodies it takes are the ones taken. Also:
each page's Content-Security-Policy allows exactly the inline style and scripts the page carries."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys

import pytest
from openapi_schema_validator import OAS30Validator

from partner_sandbox.resources import pages_spec_path
from partner_sandbox.settings import Settings
from partner_sandbox.spec import SpecDocument
from partner_sandbox.web.app import create_app
from partner_sandbox.web.routing import handler_name
from tests.helpers import ROOT, TEST_WORLD, control

SPEC = SpecDocument.load(pages_spec_path())
OPERATIONS = {op["operationId"]: (method.upper(), path, op) for _, path, method, op in SPEC.operations()}
FLOW_STEPS = [op_id for op_id, (_, _, op) in OPERATIONS.items() if "requestBody" in op]
UNKNOWN = "/qr/no-such-token-000000000000000"
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}
WORKSPACE = "qa-workspace"


@pytest.fixture(scope="module")
def server(start_module_app):
    server = start_module_app()
    r = control(server, "PUT", "/embedding-origins", json={"origins": ["http://127.0.0.1:3000"]})
    assert r.status_code == 200, r.text
    return server


def local(server, link: str) -> str:
    return link.replace(server.base_url, "")


def documented(operation_id: str, r) -> None:
    """The answer is one the operation writes down: its status, media type, headers and JSON."""
    _, _, op = OPERATIONS[operation_id]
    assert str(r.status_code) in op["responses"], (operation_id, r.status_code, r.text[:300])
    response = SPEC.resolve(op["responses"][str(r.status_code)])
    media = r.headers["content-type"].split(";")[0]
    assert media in response["content"], (operation_id, r.status_code, media)
    for name, header in response.get("headers", {}).items():
        header = SPEC.resolve(header)
        value = r.headers.get(name)
        assert value is not None or not header.get("required"), (operation_id, r.status_code, name)
        if value is not None and "enum" in header["schema"]:
            assert value in header["schema"]["enum"], (operation_id, r.status_code, name, value)
    if media == "application/json":
        schema = SPEC.inline(response["content"][media]["schema"])
        OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER).validate(r.json())


def test_the_spec_is_the_route_table(tmp_path):
    """The app's routes under /qr/ and at / are pages.yaml's operations, each to its operationId's
    handler (HEAD comes with each GET); none of them is left to connexion."""
    app = create_app(Settings(db=str(tmp_path / "sandbox.db"), fixtures=TEST_WORLD))
    mounted = {(method, route.path, route.endpoint) for route in app._middleware_app.router.routes
               if route.path.startswith("/qr/") or route.path == "/" for method in route.methods}
    written = set()
    for method, path, op in OPERATIONS.values():
        module, _, function = handler_name(op["operationId"], op["tags"]).rpartition(".")
        handler = getattr(sys.modules[module], function)
        written |= {(m, SPEC.base_path + path, handler) for m in ([method, "HEAD"] if method == "GET" else [method])}
    assert mounted == written
    assert SPEC.raw["servers"] == [{"url": "/"}] and "security" not in SPEC.raw  # at the root, no authentication


def test_every_answer_is_one_pages_yaml_writes_down_and_each_it_writes_down_is_given(server):
    client = server.client
    seen: set[tuple[str, int]] = set()

    def check(operation_id: str, r, status: int):
        assert r.status_code == status, (operation_id, r.text[:300])
        documented(operation_id, r)
        seen.add((operation_id, status))
        return r

    check("getDashboard", client.get("/"), 200)
    link = local(server, server.qr_link(WORKSPACE, 230))
    check("getLinkPage", client.get(link), 200)
    check("getLinkPage", client.get(link, params={"display_mode": "embedding"}), 200)
    check("getLinkPage", client.get(UNKNOWN), 404)
    check("getScanConfirmation", client.get(link + "/scan", params={"qr": "any"}), 200)
    check("getScanConfirmation", client.get(UNKNOWN + "/scan"), 404)
    check("getLinkFlow", client.get(link + "/flow"), 200)
    check("getLinkFlow", client.get(UNKNOWN + "/flow"), 404)

    assert check("startQRFlow", client.post(link + "/flow/qr", json={}), 200).json()["qr"]["rotation"] == 0
    check("startQRFlow", client.post(link + "/flow/qr", content=b"[]", headers=JSON), 400)
    check("startQRFlow", client.post(link + "/flow/qr", content=b"{}", headers=TEXT), 415)
    check("startQRFlow", client.post(UNKNOWN + "/flow/qr", json={}), 404)
    control(server, "POST", "/clock", json={"advance_seconds": 5 * 45})
    try:
        assert check("getLinkFlow", client.get(link + "/flow"), 200).json()["qr"] == {"timed_out": True}
    finally:
        control(server, "POST", "/clock", json={"real": True})

    phone = {"phone": "+31612345678"}
    assert check("requestPairingCode", client.post(link + "/flow/phone", json=phone), 200).json()["pairing"]
    check("requestPairingCode", client.post(link + "/flow/phone", json={}), 400)
    check("requestPairingCode", client.post(link + "/flow/phone", content=b'{"phone": "+31612345678"}'), 415)
    check("requestPairingCode", client.post(UNKNOWN + "/flow/phone", json=phone), 404)
    assert check("scanQRImage", client.post(link + "/flow/scan", json={"qr": "stale"}), 200).json()["error"]
    check("scanQRImage", client.post(link + "/flow/scan", json={"qr": 1}), 400)
    check("scanQRImage", client.post(link + "/flow/scan", data={"qr": "stale"}), 415)
    check("scanQRImage", client.post(UNKNOWN + "/flow/scan", json={"qr": "stale"}), 404)

    control(server, "PUT", f"/workspaces/{WORKSPACE}/users/230/next-failure", json={"cause": "banned"})
    check("scanLink", client.post(link + "/scan"), 409)
    check("scanLink", client.post(link + "/scan"), 200)
    check("scanLink", client.post(UNKNOWN + "/scan"), 404)
    check("scanLink", client.post(link + "/scan"), 410)
    check("getLinkPage", client.get(link), 410)
    check("getLinkPage", client.get(link, params={"display_mode": "embedding"}), 410)
    check("getScanConfirmation", client.get(link + "/scan"), 410)
    assert check("getLinkFlow", client.get(link + "/flow"), 200).json()["link"] == "used"
    check("startQRFlow", client.post(link + "/flow/qr"), 409)
    check("requestPairingCode", client.post(link + "/flow/phone", json=phone), 409)
    check("scanQRImage", client.post(link + "/flow/scan", json={"qr": "stale"}), 409)

    written = {(op_id, int(status)) for op_id, (_, _, op) in OPERATIONS.items() for status in op["responses"]
               if status != "503"}  # a database that cannot be written is not for this test to arrange
    assert seen == written


@pytest.mark.parametrize("operation_id", FLOW_STEPS)
def test_each_flow_step_takes_the_bodies_pages_yaml_writes_down(server, operation_id):
    _, path, op = OPERATIONS[operation_id]
    body = op["requestBody"]
    media = body["content"]["application/json"]
    schema = SPEC.inline(media["schema"])
    url = local(server, server.qr_link(WORKSPACE, 231 + FLOW_STEPS.index(operation_id))) + path.removeprefix("/qr/{token}")
    assert server.client.post(url, json=media["example"]).status_code == 200
    assert server.client.post(url).status_code == (400 if body["required"] else 200)  # no body at all
    for name in schema.get("required", []):
        assert server.client.post(url, json={k: v for k, v in media["example"].items() if k != name}).status_code == 400
        assert schema["properties"][name]["type"] == "string"
        for wrong in (1, None, [], {}):
            r = server.client.post(url, json={**media["example"], name: wrong})
            assert r.status_code == 400 and r.json()["description"].startswith(name), r.text
    assert server.client.post(url, json={**media["example"], "unknown": 1}).status_code == 200  # others ignored
    assert server.client.post(url, content=b"{}", headers=TEXT).status_code == 415


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_each_pages_csp_allows_exactly_the_inline_style_and_scripts_it_carries(server):
    client = server.client
    link = local(server, server.qr_link(WORKSPACE, 235))
    pages = [client.get(link), client.get(link, params={"display_mode": "embedding"}), client.get(link + "/scan"),
             client.get(UNKNOWN)]
    control(server, "PUT", f"/workspaces/{WORKSPACE}/users/235/next-failure", json={"cause": "banned"})
    pages += [client.post(link + "/scan"), client.post(link + "/scan"), client.get(link),
              client.get(link, params={"display_mode": "embedding"})]
    pages.append(client.get("/"))  # the dashboard: its own style and script, fetching its origin
    assert [p.status_code for p in pages] == [200, 200, 200, 404, 409, 200, 410, 410, 200]
    for page in pages:
        html = page.text
        directives = {d.split()[0]: d.split()[1:] for d in page.headers["content-security-policy"].split("; ")}
        scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
        styles = re.findall(r"<style>(.*?)</style>", html, re.S)
        assert directives["script-src"] == [_sha256(s) for s in scripts] and len(scripts) in (1, 2)
        assert directives["style-src"] == [_sha256(s) for s in styles] and len(styles) == 1
        assert "<script" not in re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # no other scripts
        dashboard = page.url.path == "/"
        assert (len(scripts) == 2 or dashboard) == ("connect-src 'self'" in page.headers["content-security-policy"])
        assert ("form-action 'none'" in page.headers["content-security-policy"]) == dashboard
        # one line of HTML, as the pages always were: no whitespace between elements from the templates' layout
        assert "\n" not in re.sub(r"<(script|style)>.*?</\1>", "", html, flags=re.S)


def test_pages_yaml_passes_lint():
    """A valid OpenAPI document, examples that fit their schemas, operationIds that name handlers."""
    result = subprocess.run([sys.executable, "-m", "partner_sandbox", "lint", str(ROOT / "pages.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("ok: "), result.stdout
