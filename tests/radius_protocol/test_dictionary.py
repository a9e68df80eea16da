"""The product dictionary loads in pyrad and carries the attribute facts the NASes rely on."""

import struct

import pytest
from pyrad.packet import AuthPacket

from radius_server.protocol import load_dictionary
from radius_server.protocol.attributes import iter_vendor_attributes

EXPECTED = [
    # name, vendor id, code, type
    ("User-Password", 0, 2, "string"),
    ("CHAP-Password", 0, 3, "octets"),
    ("Session-Timeout", 0, 27, "integer"),
    ("Proxy-State", 0, 33, "octets"),
    ("Acct-Input-Gigawords", 0, 52, "integer"),
    ("Acct-Output-Gigawords", 0, 53, "integer"),
    ("Event-Timestamp", 0, 55, "date"),
    ("CHAP-Challenge", 0, 60, "octets"),
    ("NAS-Port-Type", 0, 61, "integer"),
    ("Message-Authenticator", 0, 80, "octets"),
    ("Acct-Interim-Interval", 0, 85, "integer"),
    ("Framed-Pool", 0, 88, "string"),
    ("Framed-IPv6-Prefix", 0, 97, "ipv6prefix"),
    ("Error-Cause", 0, 101, "integer"),
    ("Delegated-IPv6-Prefix", 0, 123, "ipv6prefix"),
    ("MS-CHAP-Error", 311, 2, "string"),
    ("MS-MPPE-Encryption-Policy", 311, 7, "integer"),
    ("MS-MPPE-Encryption-Types", 311, 8, "integer"),
    ("MS-CHAP-Challenge", 311, 11, "octets"),
    ("MS-MPPE-Send-Key", 311, 16, "octets"),
    ("MS-MPPE-Recv-Key", 311, 17, "octets"),
    ("MS-CHAP2-Response", 311, 25, "octets"),
    ("MS-CHAP2-Success", 311, 26, "octets"),
    ("Mikrotik-Recv-Limit", 14988, 1, "integer"),
    ("Mikrotik-Xmit-Limit", 14988, 2, "integer"),
    ("Mikrotik-Rate-Limit", 14988, 8, "string"),
    ("Mikrotik-Total-Limit", 14988, 17, "integer"),
    ("Mikrotik-Total-Limit-Gigawords", 14988, 18, "integer"),
    ("Mikrotik-Address-List", 14988, 19, "string"),
    ("Mikrotik-Delegated-IPv6-Pool", 14988, 22, "string"),
    ("Cisco-AVPair", 9, 1, "string"),
    ("ERX-Virtual-Router-Name", 4874, 1, "string"),
    ("ERX-Ingress-Policy-Name", 4874, 10, "string"),
    ("ERX-Egress-Policy-Name", 4874, 11, "string"),
    ("ERX-Qos-Profile-Name", 4874, 26, "string"),
    ("ERX-Service-Activate", 4874, 65, "string"),
    ("ERX-IPv6-Delegated-Pool-Name", 4874, 161, "string"),
    ("ERX-Action-Reason", 4874, 178, "string"),
    ("Huawei-Input-Average-Rate", 2011, 2, "integer"),
    ("Huawei-Output-Peak-Rate", 2011, 6, "integer"),
    ("Huawei-Qos-Profile-Name", 2011, 31, "string"),
    ("Huawei-Domain-Name", 2011, 138, "string"),
]


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary()


def test_pyrad_loads_every_attribute(dictionary):
    assert not dictionary.skipped_attributes
    for name, vendor, code, datatype in EXPECTED:
        definition = dictionary[name]
        assert definition.code == code, name
        assert definition.type == datatype, name
        assert dictionary.vendors.GetForward(definition.vendor) == vendor, name


def test_erx_service_activate_is_tagged(dictionary):
    assert dictionary["ERX-Service-Activate"].has_tag


def test_pyrad_encodes_vendor_replies_with_our_dictionary(dictionary):
    reply = AuthPacket(code=2, id=1, secret=b"s", authenticator=bytes(16), dict=dictionary)
    reply["Mikrotik-Rate-Limit"] = "10M/10M"
    reply["Cisco-AVPair"] = ["ip:sub-qos-policy-in=in10M", "ip:sub-qos-policy-out=out10M"]
    raw = reply.RequestPacket()
    decoded = AuthPacket(secret=b"s", dict=dictionary, packet=raw)
    assert decoded["Mikrotik-Rate-Limit"] == ["10M/10M"]
    assert decoded["Cisco-AVPair"] == ["ip:sub-qos-policy-in=in10M", "ip:sub-qos-policy-out=out10M"]


def test_codec_wraps_vendor_attributes_and_tags(codec):
    raw = codec.encode("Mikrotik-Rate-Limit", "64k/128M")
    assert raw[0] == 26 and struct.unpack("!I", raw[2:6])[0] == 14988
    assert list(iter_vendor_attributes(raw[2:])) == [(14988, 8, b"64k/128M")]
    tagged = codec.encode("ERX-Service-Activate:1", "svc(1000000,1000000)")
    assert list(iter_vendor_attributes(tagged[2:])) == [(4874, 65, b"\x01svc(1000000,1000000)")]
    assert codec.encode("Tunnel-Type:1", "VLAN") == bytes([64, 6, 1, 0, 0, 13])
    assert codec.encode("Service-Type", "Framed-User") == bytes([6, 6, 0, 0, 0, 2])
    prefix = codec.encode("Framed-IPv6-Prefix", "2001:db8:1::/48")
    assert prefix[:4] == bytes([97, 20, 0, 48]) and prefix[4:10] == bytes.fromhex("20010db80001")


def test_codec_refuses_values_that_do_not_fit(codec):
    with pytest.raises(ValueError):
        codec.encode("Reply-Message", "x" * 254)
    with pytest.raises(ValueError):
        codec.encode("Mikrotik-Address-List", "x" * 248)


def test_malformed_vendor_attribute_is_kept_opaque():
    assert iter_vendor_attributes(struct.pack("!I", 14988) + b"\x08\x00abc") == []
    assert iter_vendor_attributes(struct.pack("!I", 14988) + b"\x08\x09abc") == []
