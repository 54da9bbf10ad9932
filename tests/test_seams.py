"""The bot's seams: the real engine and store, and the tests' fakes, are what the adapter is typed against."""

from bot.seams import EngineSeam, StoreSeam
from test_handlers import FakeEngine, FakeStore


async def test_the_real_engine_and_store_fill_the_seams(engine):
    assert isinstance(engine, EngineSeam) and isinstance(engine.store, StoreSeam)


def test_the_test_fakes_fill_the_seams():
    assert isinstance(FakeEngine(), EngineSeam) and isinstance(FakeStore(), StoreSeam)


def test_an_object_missing_a_method_does_not():
    class Partial:
        store = FakeStore()

        def ask(self, question, *, top=3, offset=0): ...

    assert not isinstance(Partial(), EngineSeam)
