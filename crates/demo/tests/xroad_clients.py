"""Calls every SOAP service of the demo as WSDL-driven X-Road clients do (issue 13 item 16).

Usage: python3 xroad_clients.py (pyxroad|zeep) DATA_DIR/demo.json

Each service's WSDL comes from the client's security server (`GET /wsdl?...`), and the
request goes through that security server. Neither client is given hand-made header XML:
  pyxroad  its XClient fills the header from the WSDL's declared header parts;
  zeep     a plain zeep Client built from the WSDL, the header given as values for the
           header parts the WSDL declares (`_soapheaders` as a dict, which zeep refuses
           when the operation declares no header).
Every answer must carry the provider security server's requestHash in its header.

Nothing but loopback may be fetched while the WSDL loads: the WSDL must be self-contained
(a client in a network without internet access can load it).

Prints one "ok" line per service and "<client>: N SOAP services answered with requestHash";
exits non-zero with the reason on the first failure.
"""
import json
import sys
import urllib.parse

from lxml import etree
from zeep import Client
from zeep.cache import InMemoryCache
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

XRD = "http://x-road.eu/xsd/xroad.xsd"
ID = "http://x-road.eu/xsd/identifiers"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
# the demo's end user when a service names none (a country prefix and a FIN, as X-Road asks)
DEFAULT_USER = "AZ5ZX7K2P"


class LoopbackOnly(Transport):
    """Loads documents from loopback only: a reference that needs the internet fails here."""

    def load(self, url):
        host = urllib.parse.urlsplit(url).hostname
        if host != "127.0.0.1":
            raise AssertionError(f"loading the WSDL made the client fetch {url}")
        return super().load(url)


def wsdl_url(svc):
    inst, cls, code, sub, scode, ver = svc["id"].split("/")
    query = urllib.parse.urlencode(
        {
            "xRoadInstance": inst,
            "memberClass": cls,
            "memberCode": code,
            "subsystemCode": sub,
            "serviceCode": scode,
            "version": ver,
        }
    )
    return f"{svc['client_url']}/wsdl?{query}"


def identifier(path, object_type, names):
    value = dict(zip(names, path.split("/")))
    value["objectType"] = object_type
    return value


def received_request_hash(history):
    """The requestHash in the answer's SOAP header, as it came over the wire."""
    envelope = history.last_received["envelope"]
    header = envelope.find(f"{{{SOAP_ENV}}}Header")
    assert header is not None, etree.tostring(envelope).decode()
    found = header.find(f"{{{XRD}}}requestHash")
    assert found is not None and (found.text or "").strip(), etree.tostring(envelope).decode()
    return found.text.strip()


def sent_header_names(history):
    header = history.last_sent["envelope"].find(f"{{{SOAP_ENV}}}Header")
    assert header is not None, "the client sent no SOAP header"
    return [etree.QName(e).localname for e in header]


def check_sent(history, svc):
    names = sent_header_names(history)
    for part in ["client", "service", "id", "userId", "protocolVersion"]:
        assert part in names, f"{svc['id']}: the client sent no {part} header ({names})"
    sent = history.last_sent["envelope"]
    client = sent.find(f".//{{{XRD}}}client")
    assert client.get(f"{{{ID}}}objectType") == "SUBSYSTEM", etree.tostring(client).decode()


def call_pyxroad(svc):
    from XRoad import XClient

    history = HistoryPlugin()
    client = XClient(
        svc["client_url"],
        svc["client"],
        svc["id"],
        transport=LoopbackOnly(cache=InMemoryCache(timeout=60)),
        plugins=[history],
    )
    # XClient fetched GET {client_url}/wsdl?... itself; it calls through the client's
    # security server as its HTTP proxy
    client.userId = svc.get("user_id") or DEFAULT_USER
    answer = client.request(**svc["params"])
    check_sent(history, svc)
    wire = received_request_hash(history)
    parsed = answer["header"]["requestHash"]
    assert parsed["_value_1"] == wire, (parsed, wire)
    assert parsed["algorithmId"].endswith("sha512"), parsed
    assert answer["body"] is not None, answer
    return wire


def call_zeep(svc):
    history = HistoryPlugin()
    client = Client(wsdl_url(svc), transport=LoopbackOnly(cache=InMemoryCache(timeout=60)), plugins=[history])
    binding = next(iter(client.wsdl.bindings))
    service = client.create_service(binding, svc["client_url"] + "/")
    operation = getattr(service, svc["id"].split("/")[4])
    # values for the header parts the WSDL declares: zeep builds the header elements
    header = {
        "client": identifier(svc["client"], "SUBSYSTEM", ["xRoadInstance", "memberClass", "memberCode", "subsystemCode"]),
        "service": identifier(
            svc["id"],
            "SERVICE",
            ["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"],
        ),
        "id": f"zeep-{svc['id']}",
        "userId": svc.get("user_id") or DEFAULT_USER,
        "protocolVersion": "4.0",
    }
    answer = operation(**svc["params"], _soapheaders=header)
    check_sent(history, svc)
    wire = received_request_hash(history)
    assert answer.header.requestHash._value_1 == wire, (answer.header, wire)
    assert answer.header.id == header["id"], answer.header
    assert answer.body is not None, answer
    return wire


def main():
    which, manifest = sys.argv[1], sys.argv[2]
    call = {"pyxroad": call_pyxroad, "zeep": call_zeep}[which]
    demo = json.load(open(manifest))
    soap = [s for s in demo["services"] if s["protocol"] == "soap"]
    assert soap, "demo.json lists no SOAP service"
    for svc in soap:
        request_hash = call(svc)
        print(f"ok  {which}  {svc['client']} -> {svc['id']}  requestHash={request_hash[:16]}...")
    print(f"{which}: {len(soap)} SOAP services answered with requestHash")


if __name__ == "__main__":
    main()
