"""A GeoReport v2 client that exists (the ``georeport`` package on PyPI, pinned in
requirements-dev.txt) reads our services, a service definition and the requests over HTTP, in
JSON and XML. It cannot file requests (its README says so); the POST is made with ``requests``,
form-encoded as the specification says."""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from volunteer.auth.services import create_token
from volunteer.extensions import db
from volunteer.open311.mapping import Open311Status

from .test_open311 import check_definition, check_post_answer, check_request, check_services

georeport = pytest.importorskip("georeport")


@pytest.fixture
def endpoint(app, factory):
    """Our Open311 endpoint served over HTTP on a free local port, with a town to file in and
    a resident's API token."""
    village = factory.village(code="JW", name="金湾居民区")
    factory.grid(village, code="JW-01", lat=30.757, lon=121.353)
    token = create_token(factory.user("resident", name="居民"))
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # closing waits for a request still running
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/open311/v2", token
    server.shutdown()
    for t in list(getattr(server, "_threads", [])):
        t.join(timeout=10)
    server.socket.close()
    thread.join(timeout=5)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_services_and_requests(endpoint, fmt):
    root, token = endpoint
    resp = requests.post(f"{root}/requests.json", timeout=10, data={
        "api_key": token, "service_code": "facilities", "lat": 30.7571, "long": 121.3531,
        "description": "路灯不亮", "attribute[urgency]": "high"})
    assert resp.status_code == 200, resp.text
    check_post_answer(resp.json())
    request_id = resp.json()[0]["service_request_id"]

    client = georeport.GeoReport(root, output_format=fmt)
    services = client.get_service_list()
    if fmt == "json":
        check_services(services)
    assert "facilities" in {s["service_code"] for s in services}
    definition = client.get_service_definition("facilities")
    if fmt == "json":
        check_definition(definition)
    assert definition["service_code"] == "facilities"
    requests_found = client.get_service_requests(status=Open311Status.open)
    found = requests_found if isinstance(requests_found, list) else [requests_found]
    assert [r["service_request_id"] for r in found] == [request_id]
    one = client.get_service_request(request_id)
    if fmt == "json":
        check_request(one)
    assert one["status"] == Open311Status.open and one["service_code"] == "facilities"
    assert one["description"] == "公共设施维修"  # the category: the text is not public
    if fmt == "json":  # (the client cannot read an empty XML list: it indexes into None)
        assert client.get_service_requests(status=Open311Status.closed) == []
