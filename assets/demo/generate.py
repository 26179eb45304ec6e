#!/usr/bin/env python3
"""Regenerates assets/demo/service.json (the demo water network) deterministically.

Run from the repository root: python3 assets/demo/generate.py
"""
import json
import random
import uuid

rng = random.Random(20261122)


def guid():
    return "{" + str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper() + "}"


def ms(year, month, day):
    import datetime
    return int(datetime.datetime(year, month, day, tzinfo=datetime.timezone.utc).timestamp() * 1000)


STATUS = {"type": "codedValue", "name": "AssetStatus", "codedValues": [
    {"name": "In service", "code": "IS"}, {"name": "Out of service", "code": "OOS"},
    {"name": "Abandoned", "code": "ABN"}]}
X0, Y0 = -122.70, 45.49
SR = {"wkid": 4326, "latestWkid": 4326}


def pt(z=None):
    g = {"x": round(X0 + rng.random() * 0.12, 6), "y": round(Y0 + rng.random() * 0.07, 6)}
    if z is not None:
        g["z"] = z
    return g


def field(name, ftype, **kw):
    f = {"name": name, "type": ftype, "alias": name.replace("_", " ")}
    f.update(kw)
    return f


hydrants = [{"geometry": pt(), "attributes": {
    "GlobalID": guid(), "FacilityID": f"HYD-{i:04d}",
    "Status": rng.choice(["IS"] * 8 + ["OOS", "ABN"]),
    "Flow_GPM": rng.choice([500, 750, 1000, 1250, 1500]),
    "InstallDate": ms(1960 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28)),
    "Notes": rng.choice([None, "Painted 2023", "Cap replaced", "Near school", "Low pressure zone"]),
    "AssetTag": f"WTR-H{i:05d}"}} for i in range(1, 241)]

valves = [{"geometry": pt(z=round(30 + rng.random() * 40, 2)), "attributes": {
    "GlobalID": guid(), "ValveID": f"VLV-{i:04d}",
    "Diameter_mm": rng.choice([100, 150, 200, 300, 400]),
    "Depth": round(0.8 + rng.random() * 2.0, 2),
    "Turns": rng.choice([None, 18, 24, 30, 42]),
    "Status": rng.choice(["IS"] * 9 + ["OOS"])}} for i in range(1, 161)]


def line():
    x, y = X0 + rng.random() * 0.1, Y0 + rng.random() * 0.06
    path, m = [], 0.0
    for _ in range(2 + rng.randrange(3)):
        path.append([round(x, 6), round(y, 6), round(m, 1)])
        x += (rng.random() - 0.5) * 0.01
        y += (rng.random() - 0.5) * 0.01
        m += 100 + rng.random() * 200
    return {"paths": [path], "hasM": True}


mains = [{"geometry": line(), "attributes": {
    "GlobalID": guid(), "MainID": f"MN-{i:04d}",
    "Material": rng.choice(["DI", "CI", "PVC", "HDPE"]),
    "Diameter_mm": rng.choice([150, 200, 300, 450])}} for i in range(1, 61)]



def curved(geometry):
    """The same main with a true curve: its first segment becomes a circular arc (`c`) whose
    interior point sits off the chord by a fifth of its length. No random numbers are drawn, so
    every other seed stays as it was."""
    path = geometry["paths"][0]
    (x0, y0, m0), (x1, y1, m1) = path[0], path[1]
    dx, dy = x1 - x0, y1 - y0
    interior = [round((x0 + x1) / 2 - dy * 0.2, 6), round((y0 + y1) / 2 + dx * 0.2, 6),
                round((m0 + m1) / 2, 1)]
    return {"curvePaths": [[path[0], {"c": [path[1], interior]}] + path[2:]], "hasM": True}


# The last four mains hold true curves (layer 2 declares "trueCurves").
for main in mains[-4:]:
    main["geometry"] = curved(main["geometry"])

inspectors = ["tech1", "tech2", ""]
inspections = [{"attributes": {
    "GlobalID": guid(), "HydrantGUID": hydrants[rng.randrange(len(hydrants))]["attributes"]["GlobalID"],
    "Inspector": rng.choice(inspectors),
    "Result": rng.choice(["PASS"] * 6 + ["FAIL", "FOLLOWUP"]),
    "InspectedOn": ms(2025, 1 + rng.randrange(12), 1 + rng.randrange(28)),
    "Comments": rng.choice([None, "OK", "Leaking at cap", "Needs paint", "Obstructed by hedge"])}}
    for _ in range(120)]

work_orders = [{"attributes": {
    "GlobalID": guid(), "Assignee": rng.choice(inspectors[:2]),
    "Summary": rng.choice(["Flush hydrant", "Exercise valve", "Replace cap", "Clear vegetation"]),
    "Priority": rng.choice([1, 2, 3])}} for _ in range(40)]

service = {
    "name": "WaterNetwork",
    "description": "Demo water distribution network: hydrants, valves, mains, inspections and work orders.",
    "requireToken": False,
    "users": [
        {"name": "admin", "token": "demo-admin-token", "admin": True},
        {"name": "tech1", "token": "tech1-token"},
        {"name": "tech2", "token": "tech2-token"},
    ],
    "spatialReference": SR,
    "fullExtent": {"xmin": X0, "ymin": Y0, "xmax": X0 + 0.12, "ymax": Y0 + 0.07, "spatialReference": SR},
    "allowGeometryUpdates": True,
    "xssPreventionInfo": {"xssPreventionEnabled": True, "xssPreventionRule": "InputOnly",
                          "xssInputRule": "rejectInvalid"},
    "layers": [
        {"id": 0, "name": "Hydrants", "geometryType": "esriGeometryPoint",
         "fields": [
             field("FacilityID", "esriFieldTypeString", length=20, nullable=False),
             field("Status", "esriFieldTypeString", length=8, nullable=False, domain=STATUS, defaultValue="IS"),
             field("Flow_GPM", "esriFieldTypeDouble",
                   domain={"type": "range", "name": "FlowRange", "range": [0, 5000]}),
             field("InstallDate", "esriFieldTypeDate"),
             field("Notes", "esriFieldTypeString", length=255),
             field("AssetTag", "esriFieldTypeString", length=20, editable=False)],
         "indexes": [{"name": "IDX_FacilityID", "fields": "FacilityID", "isUnique": True}],
         "seed": hydrants},
        {"id": 1, "name": "Valves", "geometryType": "esriGeometryPoint", "hasZ": True,
         "allowGeometryUpdates": False,
         "fields": [
             field("ValveID", "esriFieldTypeString", length=20, nullable=False),
             field("Diameter_mm", "esriFieldTypeSmallInteger", nullable=False,
                   domain={"type": "range", "name": "ValveDiameter", "range": [50, 1200]}),
             field("Depth", "esriFieldTypeDouble", nullable=False),
             field("Turns", "esriFieldTypeInteger"),
             field("Status", "esriFieldTypeString", length=8, domain=STATUS)],
         "indexes": [{"name": "IDX_ValveID", "fields": "ValveID", "isUnique": True}],
         "seed": valves},
        {"id": 2, "name": "Mains", "geometryType": "esriGeometryPolyline", "hasM": True,
         "trueCurves": True, "allowTrueCurvesUpdates": False,
         "fields": [
             field("MainID", "esriFieldTypeString", length=20, nullable=False),
             field("Material", "esriFieldTypeString", length=8),
             field("Diameter_mm", "esriFieldTypeSmallInteger")],
         "seed": mains},
    ],
    "tables": [
        {"id": 3, "name": "Inspections",
         "hasAttachments": True, "maxAttachmentSize": 10 * 1024 * 1024,
         "attachmentContentTypes": ["image/jpeg", "image/png", "application/pdf"],
         "fields": [
             field("HydrantGUID", "esriFieldTypeGUID"),
             field("Inspector", "esriFieldTypeString", length=40, editable=False),
             field("Result", "esriFieldTypeString", length=10, nullable=False,
                   domain={"type": "codedValue", "name": "InspectionResult", "codedValues": [
                       {"name": "Pass", "code": "PASS"}, {"name": "Fail", "code": "FAIL"},
                       {"name": "Follow-up", "code": "FOLLOWUP"}]}),
             field("InspectedOn", "esriFieldTypeDate"),
             field("Comments", "esriFieldTypeString", length=500)],
         "ownership": {"ownerField": "Inspector", "allowOthersToQuery": True,
                       "allowOthersToUpdate": False, "allowOthersToDelete": False},
         "seed": inspections},
        {"id": 4, "name": "WorkOrders",
         "fields": [
             field("Assignee", "esriFieldTypeString", length=40, editable=False),
             field("Summary", "esriFieldTypeString", length=120, nullable=False),
             field("Priority", "esriFieldTypeSmallInteger",
                   domain={"type": "range", "name": "Priority", "range": [1, 3]})],
         "ownership": {"ownerField": "Assignee", "allowOthersToQuery": False,
                       "allowOthersToUpdate": False, "allowOthersToDelete": False},
         "seed": work_orders},
    ],
}

with open("assets/demo/service.json", "w") as out:
    json.dump(service, out, indent=1)
    out.write("\n")
