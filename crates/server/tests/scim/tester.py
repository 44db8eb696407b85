"""Runs scim2-tester (PyPI) against a running SCIM service and fails on any failing check.

Usage: tester.py BASE_URL TOKEN. Prints one line per check; exits 1 if a check reports an
error or a critical problem (a MUST of RFC 7643/7644 broken), 0 otherwise.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = 0
    for r in results:
        mark = "FAIL" if r.status in FAILING else r.status.name
        print(f"{mark:10} {r.resource_type or '-':6} {r.title}: {r.reason or ''}")
        if r.status in FAILING:
            failed += 1
            if r.data is not None:
                print(f"           data: {str(r.data)[:600]}")
    if failed:
        print(f"{failed} of {len(results)} checks failed")
        return 1
    if not results:
        print("no checks ran")
        return 1
    print(f"{len(results)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
