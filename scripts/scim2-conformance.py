"""Runs PyPI's scim2-tester (an independent RFC 7643 / 7644 conformance checker) against a
SCIM 2.0 server and prints its results as one JSON document on stdout.

    TOKEN=... <venv>/bin/python scripts/scim2-conformance.py --url http://127.0.0.1:PORT/oci/admin/v1

Run it with the Python of the venv that scripts/install-scim2-tester prints. The bearer
token comes from the environment variable named by --token-env (default SCIM2_CONFORMANCE_TOKEN),
never from the command line (which other users of the machine can read).

Output: {"checker": "scim2-tester", "version": ..., "url": ..., "counts": {STATUS: n},
"results": [{"status", "title", "resource_type", "reason", "tags"}]}, results in the order
scim2-tester ran them. The exit code is 0 when the checks ran (whatever they found) and 2
when the checker itself could not run; the caller judges the results.
"""

import argparse
import collections
import importlib.metadata
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the SCIM base URL (the one /Users is under)")
    parser.add_argument("--token-env", default="SCIM2_CONFORMANCE_TOKEN", help="the variable holding the bearer token")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    args = parser.parse_args()

    token = os.environ.get(args.token_env)
    if not token:
        print(f"error: the bearer token variable {args.token_env} is not set", file=sys.stderr)
        return 2

    try:
        from httpx2 import Client
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import check_server
    except ImportError as e:
        print(f"error: scim2-tester is not installed in {sys.prefix} ({e}); run scripts/install-scim2-tester", file=sys.stderr)
        return 2

    base = args.url.rstrip("/") + "/"
    with Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=args.timeout) as http:
        results = check_server(SyncSCIMClient(http))

    out = []
    for r in results:
        out.append(
            {
                "status": r.status.name,
                "title": r.title,
                "resource_type": r.resource_type,
                "reason": r.reason,
                "tags": sorted(r.tags or []),
            }
        )
    json.dump(
        {
            "checker": "scim2-tester",
            "version": importlib.metadata.version("scim2-tester"),
            "url": args.url,
            "counts": dict(collections.Counter(r["status"] for r in out)),
            "results": out,
        },
        sys.stdout,
        indent=1,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
