"""One unit of work per request: committed before the response, rolled back on any error."""

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shop.core.db import after_commit, commit, unit_of_work
from tests.fixtures.probe_app import committed_callbacks


async def notes(app: FastAPI) -> list[str]:
    async with app.state.resources.database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT text FROM probe_note ORDER BY id"))
        return [row.text for row in rows]


class TestRequestTransaction:
    async def test_a_successful_request_is_committed_before_it_answers(
        self, probe: httpx.AsyncClient, probe_app: FastAPI
    ) -> None:
        response = await probe.post("/api/v1/probe/notes", json={"text": "kept"})
        assert response.status_code == 201
        assert await notes(probe_app) == ["kept"]
        assert committed_callbacks == ["kept"]

    async def test_a_commit_that_fails_is_the_answer_not_a_201(
        self, probe: httpx.AsyncClient, probe_app: FastAPI
    ) -> None:
        # The duplicate passes the INSERT and fails only at COMMIT (a deferred constraint): a 201
        # here would mean the answer left before the commit was tried.
        assert (await probe.post("/api/v1/probe/claims", json={"text": "taken"})).status_code == 201
        response = await probe.post("/api/v1/probe/claims", json={"text": "taken"})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        async with probe_app.state.resources.database.engine.connect() as connection:
            assert (await connection.scalar(text("SELECT count(*) FROM probe_claim"))) == 1

    async def test_an_error_after_a_write_rolls_it_back(self, probe: httpx.AsyncClient, probe_app: FastAPI) -> None:
        response = await probe.post("/api/v1/probe/notes?fail=true", json={"text": "dropped"})
        assert response.status_code == 409
        assert await notes(probe_app) == []
        assert committed_callbacks == [], "after-commit work must not run for a rolled-back change"

    async def test_an_error_that_keeps_changes_commits_them_and_still_fails(
        self, probe: httpx.AsyncClient, probe_app: FastAPI
    ) -> None:
        response = await probe.post("/api/v1/probe/notes?fail_keeping=true", json={"text": "kept anyway"})
        assert response.status_code == 409
        assert await notes(probe_app) == ["kept anyway"]
        assert committed_callbacks == ["kept anyway"]


class TestUnitOfWork:
    async def test_commits_at_the_end_and_runs_callbacks(self, probe_app: FastAPI) -> None:
        ran: list[str] = []
        async with unit_of_work(probe_app.state.resources.database) as session:
            await session.execute(text("INSERT INTO probe_note (text) VALUES ('task')"))

            async def callback() -> None:
                ran.append("after")

            after_commit(session, callback)
            assert ran == []
        assert ran == ["after"]
        assert await notes(probe_app) == ["task"]
        await _truncate(probe_app)

    async def test_rolls_back_on_error(self, probe_app: FastAPI) -> None:
        ran: list[str] = []
        try:
            async with unit_of_work(probe_app.state.resources.database) as session:
                await session.execute(text("INSERT INTO probe_note (text) VALUES ('lost')"))

                async def callback() -> None:
                    ran.append("after")

                after_commit(session, callback)
                raise LookupError("boom")
        except LookupError:
            pass
        assert ran == []
        assert await notes(probe_app) == []

    async def test_a_failing_callback_does_not_undo_the_commit(self, probe_app: FastAPI) -> None:
        async with probe_app.state.resources.database.sessionmaker() as session:
            await session.execute(text("INSERT INTO probe_note (text) VALUES ('safe')"))

            async def broken() -> None:
                raise RuntimeError("side effect failed")

            after_commit(session, broken)
            await commit(session)
        assert await notes(probe_app) == ["safe"]
        await _truncate(probe_app)


async def _truncate(app: FastAPI) -> None:
    async with app.state.resources.database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE probe_note"))
