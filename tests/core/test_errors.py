"""Every error leaves as RFC 9457 problem+json with a stable code; nothing internal leaks."""

import logging

import httpx
import pytest

from tests.fixtures.problems import assert_problem


class TestStarletteErrors:
    async def test_unknown_path_is_a_404_problem(self, probe: httpx.AsyncClient) -> None:
        assert_problem(await probe.get("/api/v1/nowhere"), 404, "not_found")

    async def test_wrong_method_is_a_405_problem_with_allow(self, probe: httpx.AsyncClient) -> None:
        response = await probe.delete("/api/v1/probe/items")
        assert_problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "POST"


class TestValidation:
    async def test_invalid_body_lists_each_error(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post("/api/v1/probe/items", json={"name": "", "quantity": 100})
        body = assert_problem(response, 422, "validation_error")
        errors = body["errors"]
        assert isinstance(errors, list)
        assert sorted(tuple(error["loc"]) for error in errors) == [("body", "name"), ("body", "quantity")]
        assert all(set(error) == {"loc", "msg", "type"} for error in errors)

    async def test_unknown_field_is_rejected(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post("/api/v1/probe/items", json={"name": "a", "quantity": 1, "id": "x"})
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"] == [
            {"loc": ["body", "id"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
        ]

    async def test_malformed_json_is_a_422(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post(
            "/api/v1/probe/items", content=b'{"name": "a",', headers={"content-type": "application/json"}
        )
        assert_problem(response, 422, "validation_error")

    async def test_a_json_body_that_is_not_utf8_is_a_422(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post(
            "/api/v1/probe/items", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"] == [
            {"loc": ["body"], "msg": "There was an error parsing the body", "type": "body_unreadable"}
        ]

    async def test_a_broken_multipart_form_is_a_422(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post(
            "/api/v1/auth/token",
            content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert_problem(response, 422, "validation_error")

    async def test_an_id_that_does_not_parse_is_a_422(self, probe: httpx.AsyncClient) -> None:
        body = assert_problem(await probe.get("/api/v1/probe/items/not-a-uuid"), 422, "validation_error")
        assert body["errors"][0]["loc"] == ["path", "item_id"]  # type: ignore[index]

    async def test_a_valid_body_passes(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post("/api/v1/probe/items", json={"name": "a", "quantity": 2})
        assert response.status_code == 201
        assert response.json() == {"name": "a", "quantity": 2}


class TestMediaTypeAndSize:
    async def test_a_body_that_is_not_json_is_a_415(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post("/api/v1/probe/items", content=b"name=a", headers={"content-type": "text/plain"})
        assert_problem(response, 415, "unsupported_media_type")

    async def test_a_json_suffix_type_is_accepted(self, probe: httpx.AsyncClient) -> None:
        response = await probe.post(
            "/api/v1/probe/items",
            content=b'{"name": "a", "quantity": 1}',
            headers={"content-type": "application/merge-patch+json"},
        )
        assert response.status_code == 201

    async def test_a_body_over_one_mib_is_a_413(self, probe: httpx.AsyncClient) -> None:
        big = b'{"name": "' + b"a" * (1024 * 1024) + b'", "quantity": 1}'
        response = await probe.post("/api/v1/probe/items", content=big, headers={"content-type": "application/json"})
        assert_problem(response, 413, "payload_too_large")

    async def test_a_chunked_body_over_the_limit_is_a_413(self, probe: httpx.AsyncClient) -> None:
        async def chunks():  # no Content-Length: the limit must count the bytes as they arrive
            for _ in range(40):
                yield b"x" * 32_768

        response = await probe.post(
            "/api/v1/probe/items", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "payload_too_large")

    async def test_an_oversized_body_is_refused_before_it_is_read_whole(self, probe: httpx.AsyncClient) -> None:
        sent = 0

        async def chunks():  # 4 MiB offered, in 32 KiB pieces, without Content-Length
            nonlocal sent
            for _ in range(128):
                sent += 1
                yield b"x" * 32_768

        response = await probe.post(
            "/api/v1/probe/items", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "payload_too_large")
        assert sent <= 33  # one piece past the 1 MiB limit, not the 128 offered

    async def test_a_declared_oversized_body_is_refused_unread(self, probe: httpx.AsyncClient) -> None:
        sent = 0

        async def chunks():
            nonlocal sent
            for _ in range(64):
                sent += 1
                yield b"x" * 32_768

        headers = {"content-type": "application/json", "content-length": str(64 * 32_768)}
        response = await probe.post("/api/v1/probe/items", content=chunks(), headers=headers)
        assert_problem(response, 413, "payload_too_large")
        assert sent <= 1


class TestDomainAndUnexpectedErrors:
    async def test_a_shop_error_keeps_its_status_code_and_errors(self, probe: httpx.AsyncClient) -> None:
        body = assert_problem(await probe.get("/api/v1/probe/conflict"), 409, "conflict")
        assert body["detail"] == "Already there."
        assert body["errors"] == [{"sku": "PROBE-1"}]

    async def test_a_crash_is_a_500_with_the_request_id_only(
        self, probe: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR):
            response = await probe.get("/api/v1/probe/crash", headers={"X-Request-ID": "crash-1"})
        body = assert_problem(response, 500, "internal_error")
        assert body["request_id"] == "crash-1"
        assert "secret internal detail" not in response.text
        assert "Traceback" not in response.text
        logged = [r for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "http.unhandled_error"]
        assert len(logged) == 1
        assert logged[0].msg["request_id"] == "crash-1"  # type: ignore[index]
        assert logged[0].exc_info is not None and "secret internal detail" in str(logged[0].exc_info[1])
