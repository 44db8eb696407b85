"""Runs scim2-tester (PyPI) against a running SCIM service and fails on any failing check.

Usage: tester.py BASE_URL TOKEN. Prints one line per check; exits 1 if a check reports an
error or a critical problem (a MUST of RFC 7643/7644 broken), 0 otherwise.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from scim2_tester import filling
from scim2_tester.checkers import patch_add, patch_replace

# Trustplane's userName is the directory's userPrincipalName, which must have the form
# local@domain (RFC 7643 §4.1.1 leaves userName's form to the service provider; Entra sends
# UPNs). The tester fills userName with a bare UUID, so here, and only for userName, it fills
# a UUID at a test domain instead. Every other value is the tester's own.
_random_value = filling.generate_random_value


def _user_name_as_upn(context, path, mutability=None, required=None):
    value = _random_value(context, path, mutability=mutability, required=required)
    if str(path).lower().endswith("username") and isinstance(value, str) and "@" not in value:
        value = f"{value}@scim-tester.example"
    return value


filling.generate_random_value = _user_name_as_upn
patch_add.generate_random_value = _user_name_as_upn
patch_replace.generate_random_value = _user_name_as_upn

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
