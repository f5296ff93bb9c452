"""The lenders' index on SQLite may be used from another thread than the one that opened it: the
console's request opens it in one worker thread and FastAPI runs its dependencies and handler in others."""

from __future__ import annotations

import threading
from pathlib import Path

from vscm.index.store import open_index


def test_an_index_opened_in_one_thread_answers_in_another(tmp_path: Path) -> None:
    index = open_index(tmp_path / "index.sqlite")
    answers: list[object] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            answers.append(index.cursor())
        except BaseException as exc:  # noqa: BLE001 - the failure is reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    assert errors == [] and answers == [None]  # a new index has no cursor yet
