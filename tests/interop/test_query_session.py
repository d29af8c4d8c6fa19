"""Our session's queries against the real Zenoh (the Rust core), both directions.

`dora zenoh get` queries a real queryable, and a real get() queries `dora zenoh queryable`, with
our tool as a client of a real Zenoh router and as a peer linked to a real peer. Payloads,
attachments, reply errors and the end of the query (RESPONSE_FINAL) cross both ways.
"""

import time

import pytest

from query_fixtures import zq  # noqa: F401  (the fixture)


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_our_get_receives_a_real_reply_with_attachment(zq, mode):
    real, opts = zq.real_side(mode)
    seen = []

    def answer(query):
        seen.append((str(query.selector), query.payload.to_bytes() if query.payload else None,
                     query.attachment.to_bytes() if query.attachment else None))
        query.reply(query.key_expr, b"echo " + query.payload.to_bytes(), attachment=b"ra")

    real.declare_queryable("demo/s/**", answer)
    start = time.monotonic()
    code, out, err = zq.run("zenoh", "get", "demo/s/x?p=1", *opts, "-p", "hi", "-a", "at",
                            "-t", "8000", timeout=20)
    took = time.monotonic() - start
    assert code == 0, err
    assert ">> Received ('demo/s/x': 'echo hi') (attachment: 'ra')" in out.splitlines(), out + err
    assert seen == [("demo/s/x?p=1", b"hi", b"at")]
    assert took < 6, f"get ran {took:.1f} s: the real side's RESPONSE_FINAL was not seen"


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_our_get_reports_a_real_reply_error(zq, mode):
    real, opts = zq.real_side(mode)
    real.declare_queryable("demo/s/err", lambda q: q.reply_err(b"refused"))
    code, out, err = zq.run("zenoh", "get", "demo/s/err", *opts, "-t", "8000", timeout=20)
    assert code == 0, err
    assert out.splitlines()[-1] == ">> Received (ERROR: 'refused')", out + err


def wait_matching(zq, real, key):
    querier = real.declare_querier(key)
    zq.wait_until(lambda: querier.matching_status.matching, 10,
                  f"our queryable on {key} to be declared")
    querier.undeclare()


def collect(replies):
    return [("ok", str(r.ok.key_expr), r.ok.payload.to_bytes(),
             r.ok.attachment.to_bytes() if r.ok.attachment is not None else None)
            if r.ok is not None else ("err", r.err.payload.to_bytes()) for r in replies]


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_real_get_reaches_our_queryable(zq, mode):
    real, opts = zq.real_side(mode)
    ours = zq.tool("zenoh", "queryable", "demo/ours/q", *opts, "-v", "from dora")
    wait_matching(zq, real, "demo/ours/q")
    start = time.monotonic()
    replies = collect(real.get("demo/ours/q?x=y", payload=b"ask", attachment=b"att", timeout=8))
    assert replies == [("ok", "demo/ours/q", b"from dora", b"att")]
    assert time.monotonic() - start < 4, "no RESPONSE_FINAL from our queryable"
    ours.wait_for(">> [Queryable ] Received Query 'demo/ours/q?x=y' with payload 'ask' "
                  "(attachment: 'att')")


@pytest.mark.parametrize("mode", ["client", "peer"])
def test_real_get_sees_our_reply_error(zq, mode):
    real, opts = zq.real_side(mode)
    zq.tool("zenoh", "queryable", "demo/ours/err", *opts, "--error", "not today")
    wait_matching(zq, real, "demo/ours/err")
    assert collect(real.get("demo/ours/err", timeout=8)) == [("err", b"not today")]


def test_our_get_through_our_router_reaches_a_real_client_queryable(zq):
    router = zq.router()
    real = zq.real("client", connect=router)
    real.declare_queryable("demo/mixed", lambda q: q.reply("demo/mixed", b"mixed"))
    code, out, err = zq.run("zenoh", "get", "demo/mixed", "-m", "client", "-e", router,
                            "-t", "8000", timeout=20)
    assert code == 0, err
    assert ">> Received ('demo/mixed': 'mixed')" in out.splitlines(), out + err


def test_real_get_through_our_router_reaches_our_queryable(zq):
    router = zq.router()
    real = zq.real("client", connect=router)
    zq.tool("zenoh", "queryable", "demo/mixed/ours", "-v", "ours", "-m", "client", "-e", router)
    wait_matching(zq, real, "demo/mixed/ours")
    assert collect(real.get("demo/mixed/ours", timeout=8)) == [
        ("ok", "demo/mixed/ours", b"ours", None)]
