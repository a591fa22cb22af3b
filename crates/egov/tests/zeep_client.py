"""Drives `egov demo` with zeep, a third-party SOAP client, as an agency's system would.

Usage: python3 zeep_client.py DATA_DIR/demo.json
Exits non-zero (with the reason) on the first failed expectation.
"""
import json
import sys

from lxml import etree
from zeep import Client
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin

XRD = "http://x-road.eu/xsd/xroad.xsd"
ID = "http://x-road.eu/xsd/identifiers"


def part(parent, name, text):
    e = etree.SubElement(parent, f"{{{ID}}}{name}")
    e.text = text
    return e


def headers(client_id, service_id, message_id):
    inst, cls, code, sub = client_id.split("/")
    c = etree.Element(f"{{{XRD}}}client", nsmap={"xrd": XRD, "id": ID})
    c.set(f"{{{ID}}}objectType", "SUBSYSTEM")
    for n, v in zip(["xRoadInstance", "memberClass", "memberCode", "subsystemCode"], [inst, cls, code, sub]):
        part(c, n, v)
    s_inst, s_cls, s_code, s_sub, s_svc, s_ver = service_id.split("/")
    s = etree.Element(f"{{{XRD}}}service", nsmap={"xrd": XRD, "id": ID})
    s.set(f"{{{ID}}}objectType", "SERVICE")
    for n, v in zip(
        ["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"],
        [s_inst, s_cls, s_code, s_sub, s_svc, s_ver],
    ):
        part(s, n, v)
    out = [c, s]
    for name, text in [("id", message_id), ("userId", "AZ5ZX7K2P"), ("protocolVersion", "4.0")]:
        e = etree.Element(f"{{{XRD}}}{name}", nsmap={"xrd": XRD})
        e.text = text
        out.append(e)
    return out


def answer_items(result):
    """The answer's one repeated element. The WSDL declares the X-Road header in each
    operation's output (as X-Road WSDLs do), so zeep returns the header and the body (the
    response element), which holds the repeated element."""
    return next(iter(result.body.__values__.values()))


def main():
    demo = json.load(open(sys.argv[1]))
    soap = [s for s in demo["services"] if s["protocol"] == "soap"]
    assert soap, "demo.json lists no SOAP service"
    for svc in soap:
        inst, cls, code, sub, scode, ver = svc["id"].split("/")
        wsdl = (
            f"{svc['client_url']}/wsdl?xRoadInstance={inst}&memberClass={cls}&memberCode={code}"
            f"&subsystemCode={sub}&serviceCode={scode}&version={ver}"
        )
        history = HistoryPlugin()
        client = Client(wsdl, plugins=[history])
        binding = next(iter(client.wsdl.bindings))
        service = client.create_service(binding, svc["client_url"] + "/")
        operation = getattr(service, scode)

        result = operation(**svc["params"], _soapheaders=headers(svc["client"], svc["id"], "zeep-1"))
        received = etree.tostring(history.last_received["envelope"]).decode()
        assert "requestHash" in received, "the response carries no requestHash"
        if scode == "getPersonByFin":
            assert result.header.requestHash._value_1, result.header
            assert answer_items(result)[0].fin == svc["params"]["fin"], result
            missing = operation(fin="0000000", _soapheaders=headers(svc["client"], svc["id"], "zeep-2"))
            assert not answer_items(missing), missing
        print(f"ok  {svc['client']} -> {svc['id']}")

        try:
            operation(**svc["params"], _soapheaders=headers(f"{inst}/{cls}/9999999999/nobody", svc["id"], "zeep-3"))
        except Fault as f:
            assert f.code == "Server.ClientProxy.UnknownMember", f.code
            print(f"ok  unknown client refused with {f.code}")
        else:
            raise AssertionError("an unknown client was not refused")
    print("zeep: all checks passed")


if __name__ == "__main__":
    main()
