"""The Prefect promotion lock of a workspace in object storage, against the test server."""

import threading
import time

import pytest

from regress_core.errors import ConfigError, RegistryError
from tasks.locks import LEASE_S, ensure_limit, lease_seconds, prefect_lock


def test_the_lease_is_300_seconds_unless_set(monkeypatch):
    monkeypatch.delenv("REGRESS_LOCK_LEASE_SECONDS", raising=False)
    assert lease_seconds() == LEASE_S == 300
    monkeypatch.setenv("REGRESS_LOCK_LEASE_SECONDS", "90")
    assert lease_seconds() == 90


@pytest.mark.parametrize("value", ["soon", "30", "nan", "inf"])
def test_a_lease_below_a_minute_or_not_a_number_is_refused(value, monkeypatch):
    monkeypatch.setenv("REGRESS_LOCK_LEASE_SECONDS", value)
    with pytest.raises(ConfigError, match=f"REGRESS_LOCK_LEASE_SECONDS='{value}' must be a number of seconds"):
        lease_seconds()


def test_one_holder_at_a_time(monkeypatch):
    monkeypatch.setenv("REGRESS_LOCK_LEASE_SECONDS", "60")
    name = f"regress-promotion-test-{time.monotonic_ns()}"
    held: list[tuple[str, float, float]] = []

    def hold(who: str) -> None:
        with prefect_lock(name):
            started = time.monotonic()
            time.sleep(1.0)
            held.append((who, started, time.monotonic()))

    threads = [threading.Thread(target=hold, args=(who,)) for who in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (_, _, first_end), (_, second_start, _) = sorted(held, key=lambda item: item[1])
    assert len(held) == 2
    assert second_start >= first_end


def test_a_limit_someone_widened_is_refused_in_one_line():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    name = f"regress-promotion-widened-{time.monotonic_ns()}"
    ensure_limit(name)
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=3))
    with pytest.raises(RegistryError, match=f"limit '{name}' that serialises promotions must be active with one slot"):
        ensure_limit(name)
