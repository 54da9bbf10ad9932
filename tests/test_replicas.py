"""Several Sanad processes on one store (replicas): each serves what another saved, without a restart;
a change made on one starts from every change made elsewhere; one rebuild at a time across them.

On SQLite the processes share the machine and the corpus folder; on PostgreSQL each replica has a
folder of its own, which mirrors the stored corpus files.
"""

import asyncio
import shutil

import pytest

from retrieval import Engine, RebuildBusy, ReloadError, Store, mirror
from tests.conftest import SEEDS

SOLAR = "محطة بنبان للطاقة الشمسية\n\nتقع محطة بنبان للطاقة الشمسية في محافظة أسوان، وتزود 420 ألف منزل بالكهرباء.\n"
SOLAR_Q = "كم منزلا تزود محطة بنبان بالكهرباء؟"
WIND = "مزرعة رياح الزعفرانة\n\nتضم مزرعة رياح الزعفرانة على خليج السويس 700 توربين لتوليد الكهرباء.\n"
WIND_Q = "كم توربينا تضم مزرعة رياح الزعفرانة؟"


@pytest.fixture
def folders(tmp_path, store_url):
    """The corpus folder of each of two replicas: one shared folder on SQLite, two on PostgreSQL."""
    a = tmp_path / "a"
    shutil.copytree(SEEDS, a)
    if not store_url.startswith("postgresql://"):
        return a, a
    b = tmp_path / "b"
    shutil.copytree(SEEDS, b)  # a replica deployed with the bundled seeds in its own folder
    return a, b


@pytest.fixture
async def replicas(store_url, folders, tmp_path):
    key = tmp_path / "id.key"
    a = await Engine.open(store_url, folders[0], key_file=key)
    b = await Engine.open(store_url, folders[1], key_file=key)
    yield a, b
    await a.close()
    await b.close()


async def test_a_replica_serves_what_another_saved_at_its_next_refresh(replicas):
    a, b = replicas
    assert not await b.refresh()  # nothing new: one cheap version read
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    assert not b.ask(SOLAR_Q).answered
    assert await b.refresh()
    assert b.ask(SOLAR_Q).answered and b.version == a.version and b.info().documents == 6
    assert b.info().version == a.info().version == a.version > 1  # what /about and /healthz show


async def test_a_following_replica_serves_a_new_corpus_within_seconds(replicas):
    a, b = replicas
    follower = asyncio.create_task(b.follow(poll_seconds=0.2))
    try:
        await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
        for _ in range(200):  # a notice (PostgreSQL) or the next poll (SQLite)
            if b.version == a.version:
                break
            await asyncio.sleep(0.05)
        assert b.version == a.version and b.ask(SOLAR_Q).answered
    finally:
        follower.cancel()


async def test_changes_on_two_replicas_add_up_and_a_removal_removes_exactly_what_it_names(replicas):
    a, b = replicas
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    # b has not refreshed: its change must still start from a's, not from what b served
    await b.add_file("wind.txt", WIND.encode(), max_bytes=100_000)
    assert b.ask(SOLAR_Q).answered and b.ask(WIND_Q).answered and b.info().documents == 7
    await a.remove_document("wind")  # a never served "wind": it catches up, then removes exactly it
    assert a.info().documents == 6 and a.ask(SOLAR_Q).answered and not a.ask(WIND_Q).answered
    assert await b.refresh()
    assert {d.id for d in b.snapshot.documents} == {d.id for d in a.snapshot.documents}
    assert not (b.corpus_dir / "wind.txt").exists() and (b.corpus_dir / "solar.txt").exists()


async def test_a_rebuild_while_another_process_rebuilds_is_refused_and_changes_nothing(replicas, store_url, tmp_path):
    a, b = replicas
    other = await Store.open(store_url, key_file=tmp_path / "id.key")
    try:
        async with other.try_lock("rebuild") as got:
            assert got
            with pytest.raises(RebuildBusy):
                await a.reload()
            with pytest.raises(RebuildBusy):
                await b.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
            assert not (b.corpus_dir / "solar.txt").exists()  # nothing was written
    finally:
        await other.close()
    await b.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)  # and once it is free, it goes through
    assert b.ask(SOLAR_Q).answered


async def test_a_replica_starting_on_a_shared_store_serves_it_rather_than_its_own_folder(postgres_url, tmp_path):
    key = tmp_path / "id.key"
    first = tmp_path / "first"
    shutil.copytree(SEEDS, first)
    a = await Engine.open(postgres_url, first, key_file=key)
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    await a.close()

    late = tmp_path / "late"
    shutil.copytree(SEEDS, late)
    (late / "local.txt").write_text(WIND, encoding="utf-8")  # a file nobody published
    b = await Engine.open(postgres_url, late, key_file=key)
    try:
        assert b.last_report.reused and b.info().documents == 6 and b.ask(SOLAR_Q).answered
        assert not b.ask(WIND_Q).answered
        assert (late / "solar.txt").read_text(encoding="utf-8") == SOLAR
        assert list((late / mirror.ASIDE).rglob("local.txt"))  # moved aside, not lost
    finally:
        await b.close()
    c = await Engine.open(postgres_url, late, key_file=key)  # its folder now matches: nothing is rebuilt
    try:
        assert c.last_report.reused and c.version == b.version
    finally:
        await c.close()


async def test_an_admin_whose_reload_meets_another_replicas_rebuild_is_told_so_in_arabic(replicas, store_url,
                                                                                          tmp_path):
    from test_handlers import ADMIN, feed, message, running_app

    a, _ = replicas
    other = await Store.open(store_url, key_file=tmp_path / "id.key")
    try:
        async with other.try_lock("rebuild") as got, running_app(a) as (app, request):
            assert got
            await feed(app, {"message": message("/reload", user=ADMIN)})
            await asyncio.sleep(0)  # /reload runs without blocking other updates
            for _ in range(100):
                if any("نسخة أخرى" in m.get("text", "") for m in request.sent()):
                    break
                await asyncio.sleep(0.02)
    finally:
        await other.close()
    done = request.sent()[-1]["text"]
    assert "نسخة أخرى" in done and "لم أغيّر شيئًا" in done and a.info().documents == 5


async def test_a_replica_restarting_with_a_fresh_folder_never_publishes_it(postgres_url, tmp_path):
    """The last builder's pod comes back with only the seeds in its (same) folder: the store's corpus wins."""
    key, folder = tmp_path / "id.key", tmp_path / "pod"
    shutil.copytree(SEEDS, folder)
    a = await Engine.open(postgres_url, folder, key_file=key)
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    await a.close()
    shutil.rmtree(folder)
    shutil.copytree(SEEDS, folder)  # a new container: same host name, same path, seeds only
    again = await Engine.open(postgres_url, folder, key_file=key)
    try:
        assert again.ask(SOLAR_Q).answered and again.info().documents == 6 and (folder / "solar.txt").exists()
    finally:
        await again.close()


async def test_a_replica_of_a_newer_sanad_rebuilds_the_shared_index_instead_of_failing(postgres_url, tmp_path,
                                                                                       monkeypatch):
    from retrieval import engine as engine_module

    key = tmp_path / "id.key"
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(SEEDS, first)
    a = await Engine.open(postgres_url, first, key_file=key)
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    old_version = a.version
    await a.close()
    monkeypatch.setattr(engine_module, "indexing_code", lambda: "new analysis rules")
    b = await Engine.open(postgres_url, second, key_file=key)  # an empty folder: mirrored, then rebuilt
    try:
        assert not b.last_report.reused and b.version == old_version + 1
        assert b.ask(SOLAR_Q).answered and b.info().documents == 6
        assert (await b.store.load_corpus()).code == "new analysis rules"
    finally:
        await b.close()


async def test_replicas_starting_together_on_an_empty_store_build_it_once_and_serve_it(store_url, folders, tmp_path):
    key = tmp_path / "id.key"
    engines = await asyncio.gather(*(Engine.open(store_url, f, key_file=key) for f in folders))
    try:
        assert [e.info().documents for e in engines] == [5, 5]
        assert engines[0].version == engines[1].version == 1
    finally:
        for e in engines:
            await e.close()


async def test_a_version_that_cannot_be_served_is_not_loaded_again_and_again(replicas, monkeypatch):
    from retrieval import engine as engine_module

    a, b = replicas
    await a.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
    loads = []

    async def damaged(stored):
        loads.append(stored.version)
        raise engine_module.StoreError("the index stored in the database is damaged")

    monkeypatch.setattr(engine_module, "_reuse", damaged)
    with pytest.raises(engine_module.StoreError):
        await b.refresh()
    assert not await b.refresh() and not await b.refresh()
    assert loads == [a.version] and not b.ask(SOLAR_Q).answered  # still the previous corpus, loaded once


async def test_a_change_whose_save_fails_on_a_shared_store_is_undone(postgres_url, tmp_path, monkeypatch):
    """Replicas must serve one corpus: a change that cannot be saved is not served from memory here."""
    folder = tmp_path / "c"
    shutil.copytree(SEEDS, folder)
    engine = await Engine.open(postgres_url, folder, key_file=tmp_path / "id.key")
    try:
        async def unreachable(*args, **kwargs):
            raise OSError("server closed the connection unexpectedly")

        monkeypatch.setattr(engine.store, "save_corpus", unreachable)
        with pytest.raises(ReloadError, match="could not be written"):
            await engine.add_file("solar.txt", SOLAR.encode(), max_bytes=100_000)
        assert not (folder / "solar.txt").exists() and not engine.ask(SOLAR_Q).answered
    finally:
        await engine.close()
