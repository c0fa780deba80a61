"""Sessions in a shared Redis: any instance serves any user; ids rotate on login and logout."""
from __future__ import annotations

import signal
import time

import pytest
import redis

from tests.helpers import csrf_token, session_id, sign_up
from tests.servers import RedisServer


def test_session_from_one_instance_is_valid_on_another(make_app):
    first, second = make_app(), make_app()
    browser = first.test_client()
    sign_up(browser, "grace@example.com")
    sid = session_id(browser)

    other = second.test_client()
    other.set_cookie("session", sid)
    page = other.get("/uploads")
    assert page.status_code == 200
    assert "grace@example.com" in page.get_data(as_text=True)


def test_login_rotates_the_session_id(make_app, redis_server):
    app = make_app()
    sign_up(app.test_client(), "linus@example.com")
    browser = app.test_client()
    token = csrf_token(browser, "/login")
    anonymous_sid = session_id(browser)
    assert anonymous_sid

    response = browser.post("/login", data={"email": "linus@example.com", "password": "correct horse",
                                            "csrf_token": token})
    assert response.status_code == 302
    new_sid = session_id(browser)
    assert new_sid and new_sid != anonymous_sid
    store = redis.Redis.from_url(redis_server.url)
    assert not store.exists(f"session:{anonymous_sid}")
    assert store.exists(f"session:{new_sid}")

    fixated = app.test_client()
    fixated.set_cookie("session", anonymous_sid)
    assert fixated.get("/uploads").status_code == 302  # the pre-login id is worth nothing


def test_logout_ends_the_session(make_app, redis_server):
    app = make_app()
    browser = app.test_client()
    token = sign_up(browser, "ken@example.com")
    sid = session_id(browser)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not redis.Redis.from_url(redis_server.url).exists(f"session:{sid}")
    replay = app.test_client()
    replay.set_cookie("session", sid)
    assert replay.get("/uploads").status_code == 302


def test_session_cookie_flags(make_app):
    set_cookie = make_app().test_client().get("/login").headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in set_cookie


def test_wrong_password_and_missing_csrf_are_refused(make_app):
    app = make_app()
    sign_up(app.test_client(), "alan@example.com")
    browser = app.test_client()
    token = csrf_token(browser)
    wrong = browser.post("/login", data={"email": "alan@example.com", "password": "not the one!",
                                         "csrf_token": token})
    assert wrong.status_code == 400 and "Wrong email or password" in wrong.get_data(as_text=True)
    forged = app.test_client().post("/login", data={"email": "alan@example.com", "password": "correct horse"})
    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
    assert browser.get("/uploads").status_code == 302  # still logged out


def test_sessions_in_a_redis_that_requires_auth(make_app, tmp_path):
    """ElastiCache with AUTH: the token comes apart from the URL (REDIS_AUTH_TOKEN), as the platform loads it."""
    protected = RedisServer(tmp_path / "redis", password="s3cret-token").start()
    try:
        app = make_app(REDIS_URL=protected.url, REDIS_AUTH_TOKEN="s3cret-token")
        client = app.test_client()
        sign_up(client)
        assert client.get("/uploads").status_code == 200  # the session was stored and read back
        keys = redis.Redis.from_url(protected.url, password="s3cret-token").keys("session:*")
        assert keys
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(protected.url).keys("*")
    finally:
        protected.stop()


def _stopped_then_restarted(server: RedisServer) -> RedisServer:
    """The same Redis address again, empty, as after an ElastiCache node replacement."""
    server.stop()
    again = RedisServer(server.directory)
    again.port = server.port
    return again


def test_session_routes_answer_503_while_redis_is_down_and_recover_without_restart(make_app, tmp_path):
    store = RedisServer(tmp_path / "redis").start()
    try:
        app = make_app(REDIS_URL=store.url)
        browser = app.test_client()
        sign_up(browser, "edsger@example.com")
        restarted = _stopped_then_restarted(store)

        started = time.perf_counter()
        page = browser.get("/uploads")
        assert page.status_code == 503, page.get_data(as_text=True)
        assert "Sessions are unavailable" in page.get_data(as_text=True)
        assert page.headers["Retry-After"]
        assert time.perf_counter() - started < 2
        login = browser.post("/login", data={"email": "edsger@example.com", "password": "correct horse"})
        assert login.status_code == 503  # the rate-limited form too: no 500
        api = browser.post("/uploads", json={})
        assert api.status_code == 503 and "Sessions are unavailable" in api.get_json()["error"]
        assert browser.get("/healthz").status_code == 200  # the process itself is fine

        store = restarted.start()
        assert browser.get("/uploads").status_code == 302  # the empty Redis forgot the session: log in again
        sign_up(browser, "edsger2@example.com")
        assert browser.get("/uploads").status_code == 200
    finally:
        store.stop()


def test_a_frozen_redis_costs_a_bounded_wait_not_a_hang(make_app, tmp_path):
    """A Redis that accepts connections but never answers (a stuck node): socket timeouts bound the wait."""
    store = RedisServer(tmp_path / "redis").start()
    try:
        app = make_app(REDIS_URL=store.url)
        browser = app.test_client()
        sign_up(browser, "tony@example.com")
        assert store.process is not None
        store.process.send_signal(signal.SIGSTOP)
        try:
            started = time.perf_counter()
            page = browser.get("/uploads")
            waited = time.perf_counter() - started
        finally:
            store.process.send_signal(signal.SIGCONT)
        assert page.status_code == 503
        assert waited < 3, f"waited {waited:.1f} s"
        assert browser.get("/uploads").status_code == 200  # the same session, once Redis answers again
    finally:
        store.stop()


def test_a_page_view_rewrites_the_session_only_once_it_is_due_for_a_refresh(make_app, redis_server, monkeypatch):
    """Sliding expiry without a Redis write per request: the session's TTL and cookie are renewed when the
    last renewal is older than sessions.REFRESH_EVERY, and the next page views only read it."""
    from web import sessions

    app = make_app()
    browser = app.test_client()
    sign_up(browser, "barbara.liskov@example.com")
    key = f"session:{session_id(browser)}"
    store = redis.Redis.from_url(redis_server.url)
    store.expire(key, 1000)

    page = browser.get("/uploads")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert store.ttl(key) <= 1000  # read, not written

    monkeypatch.setattr(sessions, "REFRESH_EVERY", 0)
    page = browser.get("/uploads")
    assert page.status_code == 200 and "Set-Cookie" in page.headers
    assert store.ttl(key) > 1000  # renewed for the whole SESSION_LIFETIME
    assert browser.get("/uploads").status_code == 200


def test_the_flask_session_internals_that_web_sessions_builds_on():
    """web/sessions.py subclasses Flask-Session's Redis interface and uses parts it does not document (the
    module path of RedisSession, the constructor's keywords, _generate_sid and sid_length): a release of
    Flask-Session that moves one fails here, not on a stage's first request."""
    import inspect

    import redis
    from flask import Flask
    from flask_session.redis import RedisSessionInterface
    from flask_session.redis.redis import RedisSession

    from web.sessions import RedisSessions, UnavailableSession

    assert {"app", "client", "key_prefix", "permanent"} <= set(inspect.signature(RedisSessionInterface).parameters)
    interface = RedisSessions(Flask(__name__), client=redis.Redis(port=1), key_prefix="s:", permanent=True)
    sid = interface._generate_sid(interface.sid_length)
    assert isinstance(sid, str) and len(sid) >= 32
    empty = UnavailableSession(sid=sid, permanent=interface.permanent)
    assert isinstance(empty, RedisSession) and empty.sid == sid and not empty and empty.permanent


def _log_in_page(app, sid: str):
    """A browser of `app` holding the session `sid` (the load balancer may send its next request anywhere)."""
    browser = app.test_client()
    browser.set_cookie("session", sid)
    return browser


def _csrf_accepted(browser, token: str) -> bool:
    """Whether a form posted with `token` gets past CSRF (to the credentials check, which these fail)."""
    answer = browser.post("/login", data={"email": "nobody@example.com", "password": "not the one!",
                                          "csrf_token": token})
    return "Wrong email or password" in answer.get_data(as_text=True)


def test_a_flask_key_rotates_without_breaking_a_form_in_flight(make_app):
    """SECRET_KEY holds the signing key first, then keys that still verify (`eb_tools secrets rotate STAGE
    flask-key` sets "old new", refreshes every process, then "new old"): a form signed before, during or after
    the rotation posts to any process of any phase."""
    before, during, after = (make_app(SECRET_KEY=keys) for keys in ("old-key", "old-key new-key", "new-key old-key"))
    first = before.test_client()
    old_token = csrf_token(first)
    sid = session_id(first)
    assert _csrf_accepted(_log_in_page(after, sid), old_token)  # signed before, posted after
    new_token = csrf_token(_log_in_page(after, sid))
    assert new_token != old_token
    assert _csrf_accepted(_log_in_page(during, sid), new_token)  # signed after, posted to a process not yet refreshed
    assert not _csrf_accepted(_log_in_page(before, sid), new_token)  # why the first phase must reach every process
