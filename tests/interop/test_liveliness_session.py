"""Our session's liveliness tokens against the real Zenoh (the Rust core), both directions.

A token declared by `dora zenoh liveliness` is seen by a real liveliness get() and subscriber
(and seen to go when the tool ends); a real token is listed by `dora zenoh get-liveliness` and
reported coming and going by `dora zenoh sub-liveliness`. Our tool runs as a client of a real
router and as a peer linked to a real peer.
"""

import signal

import pytest

from query_fixtures import zq  # noqa: F401  (the fixture)


def alive(real, key):
    return sorted(str(r.ok.key_expr) for r in real.liveliness().get(key, timeout=3)
                  if r.ok is not None)


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_real_side_sees_our_token_come_and_go(zq, mode):
    real, opts = zq.real_side(mode)
    events = zq.watch_tokens(real, "demo/ourtok/**")
    ours = zq.tool("zenoh", "liveliness", "demo/ourtok/a", *opts)
    zq.wait_until(lambda: ("PUT", "demo/ourtok/a") in events, 10, "our token's PUT")
    # A Rust peer answers liveliness gets from its routes, computed a few 100 ms after a link
    # comes up (it answers [] at once until then): wait for them, bounded.
    zq.wait_until(lambda: alive(real, "demo/ourtok/**") == ["demo/ourtok/a"], 5,
                  "our token in the real side's liveliness get")
    ours.stop(signal.SIGTERM)
    zq.wait_until(lambda: ("DELETE", "demo/ourtok/a") in events, 10,
                  "our token's DELETE")
    assert alive(real, "demo/ourtok/**") == []


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_our_get_liveliness_lists_real_tokens(zq, mode):
    real, opts = zq.real_side(mode)
    tokens = [real.liveliness().declare_token(k)  # noqa: F841  (kept: dropping undeclares)
              for k in ("demo/realtok/a", "demo/realtok/b", "demo/elsewhere")]
    code, out, err = zq.run("zenoh", "get-liveliness", "demo/realtok/**", *opts, "-t", "5000",
                            timeout=20)
    assert code == 0, err
    tokens = sorted(line for line in out.splitlines() if line.startswith(">> Alive token"))
    assert tokens == [">> Alive token ('demo/realtok/a')", ">> Alive token ('demo/realtok/b')"]


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_our_liveliness_subscriber_sees_real_token_come_and_go(zq, mode):
    real, opts = zq.real_side(mode)
    ours = zq.tool("zenoh", "sub-liveliness", "demo/rt/**", *opts, "--seconds", "30")
    zq.wait_until(lambda: "Declaring Liveliness Subscriber" in ours.stderr(), 10, "the tool")
    # The tool is up; its interest (client) or its link (peer) may still be on its way: redeclare
    # until it reports the token, within a bound.
    token = None
    for _ in range(20):
        token = real.liveliness().declare_token("demo/rt/x")
        try:
            ours.wait_for(">> [LivelinessSubscriber] New alive token ('demo/rt/x')", timeout=0.5)
            break
        except AssertionError:
            token.undeclare()
            token = None
    assert token is not None, ours.stdout() + ours.stderr()
    token.undeclare()
    ours.wait_for(">> [LivelinessSubscriber] Dropped token ('demo/rt/x')", timeout=10)


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_our_liveliness_subscriber_history_lists_real_token(zq, mode):
    real, opts = zq.real_side(mode)
    token = real.liveliness().declare_token("demo/hist/x")  # noqa: F841  (kept alive)
    ours = zq.tool("zenoh", "sub-liveliness", "demo/hist/**", *opts, "--history",
                   "--seconds", "30")
    ours.wait_for(">> [LivelinessSubscriber] New alive token ('demo/hist/x')", timeout=10)
