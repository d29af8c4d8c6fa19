"""Queries between real Zenoh clients (the Rust core) through `dora router`.

One real client declares queryables, another queries; our router forwards the REQUEST, maps the
RESPONSEs and ERRs back and sends one RESPONSE_FINAL once every queryable finished, so the real
get() ends long before its timeout. A querier's matching status follows the queryables our router
declares to it (queryable-option interests).
"""

import time

import zenoh

from query_fixtures import zq  # noqa: F401  (the fixture)

TIMEOUT = 8.0  # the get() timeout; every case checks it ended well before


def collect(replies):
    """(ok, key, payload, attachment) per reply of a finished get()."""
    out = []
    for reply in replies:
        if reply.ok is not None:
            s = reply.ok
            out.append(("ok", str(s.key_expr), s.payload.to_bytes(),
                        s.attachment.to_bytes() if s.attachment is not None else None))
        else:
            out.append(("err", None, reply.err.payload.to_bytes(), None))
    return out


def timed_get(session, selector, **kwargs):
    start = time.monotonic()
    replies = collect(session.get(selector, timeout=TIMEOUT, **kwargs))
    return replies, time.monotonic() - start


def two_clients(zq):
    router = zq.router()
    return zq.real("client", connect=router), zq.real("client", connect=router)


def wait_queryable_known(zq, querier_session, key):
    """A querier on `key` reports matching once the router declared a queryable to it."""
    querier = querier_session.declare_querier(key)
    zq.wait_until(lambda: querier.matching_status.matching, 5, f"a queryable matching {key}")
    querier.undeclare()


def test_get_reaches_a_real_queryable_through_the_router_and_ends_with_final(zq):
    server, client = two_clients(zq)
    seen = []

    def answer(query):
        seen.append((str(query.selector), query.payload.to_bytes() if query.payload else None,
                     query.attachment.to_bytes() if query.attachment else None))
        query.reply(query.key_expr, b"hello " + query.payload.to_bytes(),
                    attachment=b"re:" + query.attachment.to_bytes())

    server.declare_queryable("demo/q/**", answer)
    wait_queryable_known(zq, client, "demo/q/x")
    replies, took = timed_get(client, "demo/q/x?a=1", payload=b"p", attachment=b"att")
    assert replies == [("ok", "demo/q/x", b"hello p", b"re:att")]
    assert seen == [("demo/q/x?a=1", b"p", b"att")]
    assert took < TIMEOUT / 2, f"get() ran {took:.1f} s: no RESPONSE_FINAL"


def test_reply_error_crosses_the_router(zq):
    server, client = two_clients(zq)
    server.declare_queryable("demo/err", lambda q: q.reply_err(b"no such thing"))
    wait_queryable_known(zq, client, "demo/err")
    replies, took = timed_get(client, "demo/err")
    assert replies == [("err", None, b"no such thing", None)]
    assert took < TIMEOUT / 2


def test_every_queryable_answers_and_final_waits_for_all(zq):
    router = zq.router()
    a = zq.real("client", connect=router)
    b = zq.real("client", connect=router)
    client = zq.real("client", connect=router)

    def slow(query):
        time.sleep(0.5)  # the final must wait for this one
        query.reply("demo/multi/b", b"from b")

    a.declare_queryable("demo/multi/a", lambda q: q.reply("demo/multi/a", b"from a"))
    b.declare_queryable("demo/multi/b", slow)
    wait_queryable_known(zq, client, "demo/multi/a")
    wait_queryable_known(zq, client, "demo/multi/b")
    replies, took = timed_get(client, "demo/multi/*",
                              consolidation=zenoh.ConsolidationMode.NONE)
    assert sorted(replies) == [("ok", "demo/multi/a", b"from a", None),
                               ("ok", "demo/multi/b", b"from b", None)]
    assert 0.4 < took < TIMEOUT / 2


def test_latest_consolidation_keeps_one_reply_per_key(zq):
    router = zq.router()
    a = zq.real("client", connect=router)
    b = zq.real("client", connect=router)
    client = zq.real("client", connect=router)
    for s, text in ((a, b"one"), (b, b"two")):
        s.declare_queryable("demo/same", lambda q, text=text: q.reply("demo/same", text))
    wait_queryable_known(zq, client, "demo/same")
    replies, _ = timed_get(client, "demo/same", consolidation=zenoh.ConsolidationMode.LATEST)
    assert len(replies) == 1 and replies[0][1] == "demo/same"
    replies, _ = timed_get(client, "demo/same", consolidation=zenoh.ConsolidationMode.NONE)
    assert sorted(r[2] for r in replies) == [b"one", b"two"]


def test_get_without_queryable_ends_at_once(zq):
    server, client = two_clients(zq)
    server.declare_queryable("demo/elsewhere", lambda q: q.reply("demo/elsewhere", b"x"))
    replies, took = timed_get(client, "demo/nothing/here")
    assert replies == []
    assert took < TIMEOUT / 2


def test_queryable_that_leaves_counts_as_finished(zq):
    router = zq.router()
    server = zq.real("client", connect=router)
    client = zq.real("client", connect=router)
    server.declare_queryable("demo/gone", lambda q: None)  # never answers
    wait_queryable_known(zq, client, "demo/gone")
    replies = client.get("demo/gone", timeout=TIMEOUT)
    start = time.monotonic()
    time.sleep(0.3)  # the REQUEST reaches the server before it goes
    server.close()
    assert collect(replies) == []
    assert time.monotonic() - start < TIMEOUT / 2


def test_querier_matching_follows_queryables_through_the_router(zq):
    # A Rust querier matches a queryable whose key includes its own (so demo/match/** for a
    # querier on demo/match/x, not the other way round, as with a real Rust router).
    server, client = two_clients(zq)
    querier = client.declare_querier("demo/match/x", timeout=TIMEOUT)
    time.sleep(0.3)
    assert not querier.matching_status.matching
    queryable = server.declare_queryable("demo/match/**",
                                         lambda q: q.reply("demo/match/x", b"1"))
    zq.wait_until(lambda: querier.matching_status.matching, 5, "matching after D_QUERYABLE")
    assert collect(querier.get()) == [("ok", "demo/match/x", b"1", None)]
    late = client.declare_querier("demo/match/y")
    zq.wait_until(lambda: late.matching_status.matching, 5, "a later querier's current match")
    queryable.undeclare()
    zq.wait_until(lambda: not querier.matching_status.matching, 5,
                  "not matching after U_QUERYABLE")


def test_router_forgets_an_undeclared_queryable(zq):
    server, client = two_clients(zq)
    queryable = server.declare_queryable("demo/undecl", lambda q: None)  # never answers
    wait_queryable_known(zq, client, "demo/undecl")
    queryable.undeclare()
    # Once the router has dropped it, a get ends at once (else it waits for its timeout).
    zq.wait_until(lambda: timed_get(client, "demo/undecl")[1] < 1.0, 10,
                  "a get that ends at once after U_QUERYABLE")
