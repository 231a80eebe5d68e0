"""The persistent command channel's protocol, with the agent run by a local shell instead of over ssh."""

from __future__ import annotations

import shlex
import threading

import pytest

from pytest_lisa.channel import REMOTE, AgentUnavailable, Channel, ChannelLost

pytestmark = pytest.mark.integration


@pytest.fixture
def channel():  # type: ignore[no-untyped-def]
    opened = Channel(f"sh -c {shlex.quote(REMOTE)}")
    yield opened
    opened.close()


def test_exit_status_stdout_and_stderr_come_back_apart(channel: Channel) -> None:
    assert channel.run("echo out; echo err >&2; exit 3") == (3, b"out\n", b"err\n")
    assert channel.run("true") == (0, b"", b"")


def test_binary_and_large_output_arrive_whole(channel: Channel) -> None:
    code, out, _ = channel.run("head -c 3000000 /dev/zero | tr '\\0' '\\377'")
    assert code == 0 and out == b"\xff" * 3_000_000
    assert channel.run("printf 'a\\nb\\0c'")[1] == b"a\nb\0c"


def test_commands_do_not_read_the_channel_input(channel: Channel) -> None:
    assert channel.run("cat")[0] == 0  # stdin is /dev/null, not the next request
    assert channel.run("echo still here") == (0, b"still here\n", b"")


def test_a_background_command_does_not_hold_the_answer(channel: Channel) -> None:
    assert channel.run("nohup sh -c 'sleep 5' >/dev/null 2>&1 &")[0] == 0


def test_session_that_ends_is_lost(channel: Channel) -> None:
    with pytest.raises(ChannelLost):
        channel.run("kill -9 $PPID")  # the agent itself


def test_no_python_means_no_agent_and_ssh_failure_means_lost() -> None:
    with pytest.raises(AgentUnavailable, match=r"python3: not found"):
        Channel("sh -c 'echo sh: python3: not found >&2; exit 127'")
    with pytest.raises(ChannelLost, match="Connection refused"):
        Channel("sh -c 'echo ssh: connect to host x port 22: Connection refused >&2; exit 255'")


def test_one_channel_serves_one_thread_at_a_time_many_in_parallel() -> None:
    channels = [Channel(f"sh -c {shlex.quote(REMOTE)}") for _ in range(3)]
    try:
        results: list[tuple[int, bytes, bytes]] = []
        threads = [threading.Thread(target=lambda c=c: results.append(c.run("sleep 0.5; echo ok"))) for c in channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [(0, b"ok\n", b"")] * 3
    finally:
        for opened in channels:
            opened.close()
