"""Property: whatever a browser sends, the consumer neither crashes nor touches anyone else's data, and it
leaves no group subscription behind."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications import notify
from notifications.live import protocol, shared
from notifications.live.consumers import NotificationConsumer
from notifications.live.protocol import CLOSE_FRAME_TOO_LARGE, CLOSE_RATE_LIMITED, CLOSE_UNSUPPORTED_DATA
from notifications.models import Notification
from testing.communicators import group_members

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTED_CLOSE_CODES = {CLOSE_FRAME_TOO_LARGE, CLOSE_RATE_LIMITED, CLOSE_UNSUPPORTED_DATA}
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "1000"))

ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=30),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
actions = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["read", "archive", "read_all", "READ", "", "delete", "__class__"])
        | st.text(max_size=8)
    },
    optional={"id": ids, "HEADERS": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)},
)
# Structure the JSON encoder never writes: nesting deep enough to exhaust the parser's stack, numbers with
# thousands of digits, lone surrogates, and such shapes placed where the consumer looks (the id, the action).
openers = st.sampled_from(["[", '{"a":', '{"id":'])
deep = st.builds(
    lambda opener, depth: opener * depth + "1" + ("]" if opener == "[" else "}") * depth,
    openers,
    st.integers(min_value=1, max_value=1400),
)
huge_number = st.builds(lambda sign, digits: sign + "9" * digits, st.sampled_from(["", "-"]), st.integers(300, 4000))
odd_value = st.one_of(deep, huge_number, st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", '"\\ud800"', "1.0"]))
structured = st.one_of(
    st.builds(lambda v: '{"action": "read", "id": ' + v + "}", odd_value),
    st.builds(lambda v: '{"action": ' + v + "}", odd_value),
    deep,
    st.builds(lambda v, cut: ('{"action": "archive", "id": ' + v)[:cut], odd_value, st.integers(0, 200)),
)
surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=20)
text_frames = st.one_of(
    actions.map(json.dumps),
    json_values.map(json.dumps),
    structured,
    surrogates,
    st.text(max_size=200),
    st.text(min_size=4000, max_size=5000),
)
frames = st.lists(st.one_of(text_frames, st.binary(max_size=50).map(lambda b: {"bytes": b})), min_size=1, max_size=5)


@pytest.fixture
def bobs_rows(alice: Any, bob: Any) -> list[int]:
    notify(alice, "alice's own")
    return [notify(bob, f"bob's {i}").pk for i in range(3)]


def snapshot(pks: list[int]) -> list[tuple[Any, ...]]:
    return list(Notification.objects.filter(pk__in=pks).order_by("pk").values_list("pk", "read_at", "archived_at"))


async def drive(user: Any, batch: list[Any]) -> None:
    shared.local_budget.recent.clear()  # each example starts with a fresh action budget
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = user
    ok, _ = await communicator.connect()
    assert ok
    await communicator.receive_from()  # the state
    closed = None
    for frame in batch:
        # send_input, not send_to: send_to refuses empty frames, which a browser can send.
        if isinstance(frame, dict):
            await communicator.send_input({"type": "websocket.receive", "bytes": frame["bytes"]})
        else:
            await communicator.send_input({"type": "websocket.receive", "text": frame})
        # Drain what came back: state frames (after a valid action) or a close with a documented code.
        while not await communicator.receive_nothing(timeout=0.01):
            output = await communicator.receive_output()
            if output["type"] == "websocket.close":
                closed = output["code"]
                assert closed in DOCUMENTED_CLOSE_CODES, output
        if closed is not None:
            break
    await communicator.disconnect()  # re-raises anything the consumer raised
    assert group_members(protocol.user_group(user.pk)) == set()  # no subscription left behind


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=frames)
def test_any_frames_leave_other_users_data_alone(alice: Any, bobs_rows: list[int], batch: list[Any]) -> None:
    before = snapshot(bobs_rows)
    asyncio.run(drive(alice, batch))
    assert snapshot(bobs_rows) == before
