"""Drives the syncwatch reference feature service with the ArcGIS API for Python (PyPI `arcgis`).

Usage: python arcgis_interop.py http://127.0.0.1:PORT [https://127.0.0.1:PORT2 http://127.0.0.1:PORT3]
The optional two are token-secured services (user tech1 / tech1-pass, tech2 / tech2-pass), over
HTTPS and over plain HTTP: the library signs in to the first with a password and creates, syncs
and unregisters a replica there; against the second it must not send the password (it asks
https:// for the token, whatever the server's scheme).
Needs: pip install arcgis==2.4.4 six
Prints one JSON line with what it checked; exits non-zero (AssertionError) on any mismatch.
"""
import json
import sys
import uuid

from arcgis.features import FeatureLayerCollection
from arcgis.gis._impl._con import Connection


def main(base: str) -> None:
    # A bare connection (no portal): see docs/arcgis-sync.md §8.
    con = Connection(baseurl=f"{base}/arcgis", verify_cert=False, all_ssl=False)
    con.version = [11, 1]
    url = f"{base}/arcgis/rest/services/WaterNetwork/FeatureServer"
    flc = FeatureLayerCollection(url, gis=con)
    assert flc.properties.syncEnabled, "syncEnabled"
    assert flc.layers[1].properties.hasZ, "Valves have z"
    mgr = flc.replicas

    # Synchronous, embedded, perReplica.
    created = mgr.create(replica_name="py_laptop", layers=[0, 3], sync_model="perReplica",
                         transport_type="esriTransportTypeEmbedded", sync_direction="bidirectional")
    replica_id = created["replicaID"]
    gen = created["replicaServerGen"]
    assert len(created["layers"]) == 2 and len(created["layers"][0]["features"]) > 100, "data"
    assert any(r["replicaID"] == replica_id for r in mgr.get_list()), "listed"
    info = mgr.get(replica_id)
    assert info["replicaID"] == replica_id and info["syncModel"] == "perReplica", info

    # Async createReplica, polled by the client until Completed.
    job = mgr.create(replica_name="py_async", layers=[3], sync_model="perLayer", asynchronous=True, wait=True)
    assert job.get("status") == "Completed", job
    assert job.get("resultUrl"), job

    # Upload one good and one bad hydrant, bidirectional.
    good = "{" + str(uuid.uuid4()).upper() + "}"
    bad = "{" + str(uuid.uuid4()).upper() + "}"
    edits = [{"id": 0, "features": {"adds": [
        {"geometry": {"x": -122.65, "y": 45.52},
         "attributes": {"GlobalID": good, "FacilityID": "PY-" + good[1:9], "Status": "IS"}},
        {"geometry": {"x": -122.65, "y": 45.52},
         "attributes": {"GlobalID": bad, "FacilityID": "PY-" + bad[1:9], "Status": "NOPE"}},
    ]}}]
    synced = mgr.synchronize(replica_id, transport_type="esriTransportTypeEmbedded", replica_server_gen=gen,
                             edits=edits, return_ids_for_adds=True, sync_direction="bidirectional",
                             rollback_on_failure=False)
    assert "error" not in synced, synced
    add_results = synced["edits"][0]["addResults"]
    assert any(r["globalId"] == good and r["success"] for r in add_results), add_results
    failed = [r for r in add_results if not r["success"]]
    assert failed and failed[0]["error"]["code"] == 1016, add_results
    new_gen = synced["replicaServerGen"]
    assert new_gen > gen

    # The library's defaults: snapshot, URL transport, syncLayers=perReplica text.
    snap = mgr.synchronize(replica_id, replica_server_gen=new_gen)
    assert snap.get("responseType") == "esriReplicaResponseTypeReplacementData", snap
    assert snap.get("URL") or snap.get("resultUrl"), snap

    # Rollback: the envelope names the failed edit; the library raises it as an exception.
    rolled_back = False
    try:
        mgr.synchronize(replica_id, transport_type="esriTransportTypeEmbedded", replica_server_gen=new_gen,
                        edits=[{"id": 0, "features": {"adds": [
                            {"attributes": {"GlobalID": "{" + str(uuid.uuid4()) + "}"}}]}}],
                        sync_direction="upload", rollback_on_failure=True)
    except Exception as err:  # the library turns {"error": …} into an exception
        rolled_back = "rolled back" in str(err).lower() or "1001" in str(err)
    assert rolled_back, "rollback error surfaced"

    removed = mgr.unregister(replica_id)
    assert removed is True or (isinstance(removed, dict) and removed.get("success") is True), removed
    assert not any(r["replicaID"] == replica_id for r in mgr.get_list()), "unregistered"
    return {"ok": True, "replicaID": replica_id, "generation": new_gen}


SERVICE = "/arcgis/rest/services/WaterNetwork/FeatureServer"


def signed_in(secured_https: str) -> dict:
    """Username and password against a standalone server over HTTPS, as the library signs in to
    ArcGIS Server (product SERVER: a POST to <site>/admin/generateToken, docs/arcgis-auth.md)."""
    con = Connection(baseurl=f"{secured_https}/arcgis", username="tech1", password="tech1-pass",
                     product="SERVER", verify_cert=False)
    con.version = [11, 1]
    assert con._token_url == f"{secured_https}/arcgis/admin/generateToken", con._token_url
    assert con.token, "a token from admin/generateToken"
    mgr = FeatureLayerCollection(secured_https + SERVICE, gis=con).replicas
    created = mgr.create(replica_name="py_signed_in", layers=[0], sync_model="perReplica",
                         transport_type="esriTransportTypeEmbedded", sync_direction="bidirectional")
    replica_id = created["replicaID"]
    gid = "{" + str(uuid.uuid4()).upper() + "}"
    synced = mgr.synchronize(replica_id, transport_type="esriTransportTypeEmbedded",
                             replica_server_gen=created["replicaServerGen"],
                             edits=[{"id": 0, "features": {"adds": [
                                 {"geometry": {"x": -122.65, "y": 45.52},
                                  "attributes": {"GlobalID": gid, "FacilityID": "PY-" + gid[1:9],
                                                 "Status": "IS"}}]}}],
                             return_ids_for_adds=True, sync_direction="bidirectional",
                             rollback_on_failure=False)
    assert "error" not in synced, synced
    adds = synced["edits"][0]["addResults"]
    assert any(r["globalId"] == gid and r["success"] for r in adds), adds
    removed = mgr.unregister(replica_id)
    assert removed is True or (isinstance(removed, dict) and removed.get("success") is True), removed
    assert not any(r["replicaID"] == replica_id for r in mgr.get_list()), "unregistered"
    return {"signedInReplicaID": replica_id}


def refuses_plain_http(secured_plain: str) -> dict:
    """Over plain HTTP the library still asks https:// for the token, so the password is never
    sent in the clear (the HTTP port does not speak TLS: no token). Five wrong passwords for
    tech2: had any reached the service, tech2 would be locked out (the Rust side checks)."""
    attempts = 0
    for _ in range(5):
        token = None
        try:
            con = Connection(baseurl=f"{secured_plain}/arcgis", username="tech2",
                             password="not-tech2-pass", product="SERVER", verify_cert=False,
                             all_ssl=False)
            assert con._token_url.startswith("https://"), con._token_url
            token = con.token
        except AssertionError:
            raise
        except Exception:  # the TLS handshake with a plain-HTTP port fails
            pass
        assert not token, "a token over plain HTTP"
        attempts += 1
    return {"plainHttpAttempts": attempts}


if __name__ == "__main__":
    result = main(sys.argv[1])
    if len(sys.argv) > 3:
        result.update(signed_in(sys.argv[2]))
        result.update(refuses_plain_http(sys.argv[3]))
    print(json.dumps(result))
