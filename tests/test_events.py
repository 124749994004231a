"""The event contract: every name has one payload type, and producers and consumers keep to it."""

import uuid
from datetime import UTC, datetime

import pytest

from shop import events
from shop.core.outbox import Event, registered_handlers


class TestTheContract:
    def test_every_subscribed_event_is_a_name_of_the_contract(self) -> None:
        import shop.subscribers  # noqa: F401  (registers every handler)

        subscribed = {h.event_type for h in registered_handlers() if not h.name.startswith("probe.")}
        assert subscribed
        assert subscribed <= set(events.PAYLOADS)

    def test_reading_a_payload_as_another_type_is_refused(self) -> None:
        event = Event(uuid.uuid4(), events.USER_REGISTERED, {}, None, datetime.now(UTC))
        with pytest.raises(TypeError, match="UserRegistered"):
            events.read(event, events.OrderNotice)

    def test_a_name_outside_the_contract_is_refused(self) -> None:
        event = Event(uuid.uuid4(), "user.renamed", {}, None, datetime.now(UTC))
        with pytest.raises(ValueError, match=r"user\.renamed"):
            events.read(event, events.UserRegistered)

    def test_a_payload_reads_back_as_published(self) -> None:
        sent = events.UserRegistered(user_id=uuid.uuid4(), email="a@shop.test", full_name="A")
        event = Event(uuid.uuid4(), events.USER_REGISTERED, sent.model_dump(mode="json"), None, datetime.now(UTC))
        assert events.read(event, events.UserRegistered) == sent
