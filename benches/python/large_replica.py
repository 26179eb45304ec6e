"""The ArcGIS API for Python (PyPI `arcgis`) creating a replica of one layer, for the
large_replica bench (benches/large_replica.rs), which runs it as a child process and reads its
wall time, CPU time and peak RSS: createReplica with `data_format='json'` and the library's
default transport (a result file at a URL), the result downloaded into a folder (`out_path`) as
the library does, then read with `json.load`, as a Python client would use the data.

Usage: python large_replica.py SERVICE_URL LAYER_ID OUT_DIR
Needs: pip install arcgis==2.4.4 six
Prints one JSON line: the features read and the seconds of each phase; exits non-zero when the
replica does not hold the features.
"""
import json
import os
import sys
import time

from arcgis.features import FeatureLayerCollection
from arcgis.gis._impl._con import Connection


def main(service_url: str, layer: int, out_dir: str) -> dict:
    base = service_url.split("/arcgis/")[0]
    # A bare connection (no portal), as tests/python/arcgis_interop.py makes it.
    con = Connection(baseurl=f"{base}/arcgis", verify_cert=False, all_ssl=False)
    con.version = [11, 1]
    started = time.monotonic()
    flc = FeatureLayerCollection(service_url, gis=con)
    created = flc.replicas.create(replica_name=f"py_large_{os.getpid()}", layers=[layer],
                                  sync_model="perReplica", data_format="json", out_path=out_dir)
    downloaded = time.monotonic()
    path = created.get("download_url")
    assert path and os.path.exists(path), created
    with open(path, encoding="utf-8") as f:
        replica = json.load(f)
    parsed = time.monotonic()
    features = sum(len(l.get("features", [])) for l in replica.get("layers", []))
    assert replica.get("replicaID") == created.get("replicaID"), "the file is the replica's"
    return {"features": features, "bytes": os.path.getsize(path),
            "create_and_download_s": downloaded - started, "parse_s": parsed - downloaded}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
