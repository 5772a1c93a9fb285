"""Schemathesis against the live server's OpenAPI: generated requests for every operation,
including the token-protected writes (sent with the token), never get a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings

MAX_EXAMPLES = 12


def fuzzer(operation, call: Callable) -> Callable[[], None]:  # noqa: ANN001 - schemathesis operation
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:  # noqa: ANN001 - a generated case
        call(operation, case)

    return fuzz


def test_no_generated_request_gets_a_server_error(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {live_server.token}"}
    failures: list[str] = []
    statuses: set[int] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]

    def call(operation, case) -> None:  # noqa: ANN001
        response = case.call(base_url=live_server.url, headers=headers, timeout=60)
        statuses.add(response.status_code)
        if response.status_code >= 500:
            failures.append(
                f"{operation.label}: {response.status_code} for "
                f"{case.as_curl_command()}\n{response.text[:300]}"
            )

    for operation in operations:
        fuzzer(operation, call)()
    assert failures == [], "\n\n".join(failures[:5])
    assert 200 in statuses and statuses & {400, 404, 422}, statuses
