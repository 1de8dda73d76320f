#!/usr/bin/env python3
"""`make fuzz`, second pass: creates one of everything through the API (an establishment
with inventory, an allotment, a pickup, a capacity group) and writes a schemathesis config
that fixes the path ids to them, so fuzzed requests reach the handlers' logic instead of
stopping at 404.

usage: fuzz-seed.py BASE_URL API_KEY OUT_TOML
"""
import datetime
import json
import sys
import urllib.request
import uuid

base, key, out = sys.argv[1:4]


def call(method, path, body):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status not in (200, 201):
            raise SystemExit(f"{method} {path}: {resp.status}")
        return json.load(resp)["data"]


start = datetime.date.today() + datetime.timedelta(days=300)
day = lambda n: (start + datetime.timedelta(days=n)).isoformat()  # noqa: E731

est = str(uuid.uuid4())
call("PUT", f"/v1/establishments/{est}", {"name": "Fuzz Hotel", "timeZone": "Europe/Paris"})
call("PUT", f"/v1/establishments/{est}/inventory",
     {"unitTypeId": "dbl", "from": day(0), "to": day(30), "capacity": 500})
allotment = call("POST", "/v1/allotments", {
    "establishmentId": est,
    "ratePlanId": str(uuid.uuid4()),
    "channelType": "to",
    "channelExternalId": "FUZZ",
    "allotmentType": "allotment",
    "currency": "EUR",
    "periodFrom": day(0),
    "periodTo": day(6),
    "unitAllocations": [{"unitTypeId": "dbl", "quantity": 100}],
    "cutoffDate": day(-30),
    "releaseDays": 7,
    "minimumPickupPercent": 70,
    "penaltyPerRoomNightCents": "5000",
    "complimentaryRooms": 1,
    "contractualHeadcount": 20,
    "invoicingMode": "master_single",
    "billingFolioId": None,
})["allotmentId"]
pickup = call("POST", f"/v1/allotments/{allotment}/pickups", {
    "unitTypeId": "dbl", "arrival": day(1), "departure": day(3), "quantity": 1,
    "reservationRef": "FUZZ-1",
})["pickupId"]
group = call("POST", "/v1/capacity-groups", {
    "establishmentId": est, "name": "Fuzz group", "periodFrom": day(0), "periodTo": day(6),
    "unitAllocations": [{"unitTypeId": "dbl", "quantity": 20}], "cutoffDate": day(-30),
    "allotmentIds": [allotment],
})["capacityGroupId"]

with open(out, "w") as f:
    f.write("# Written by infra/local/fuzz-seed.py: path ids of seeded resources.\n")
    f.write("[parameters]\n")
    for name, value in [("establishmentId", est), ("allotmentId", allotment),
                        ("pickupId", pickup), ("capacityGroupId", group)]:
        f.write(f'"path.{name}" = "{value}"\n')
print(f"seeded establishment {est}, allotment {allotment}, pickup {pickup}, group {group}")
