#!/usr/bin/env python3
"""A small Parley bot in Python: logs in, joins its conversations, answers every message
and keeps its socket authenticated by renewing its access token before it expires.

Needs python-socketio, websocket-client and requests (Debian: python3-socketio python3-websocket python3-requests).

    PARLEY_URL=http://127.0.0.1:3000 BOT_LOGIN=echo_bot BOT_PASSWORD='...' \
        python3 examples/python/bot.py --transport websocket

It prints one line per event (`ready`, `joined <id>`, `replied <id>`, `renewed`, ...), so a
supervisor (or a test) can follow it.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import socketio


def say(*words):
    print(*words, flush=True)


class Parley:
    """REST with token rotation: one refresh at a time (presenting a rotated refresh token twice
    revokes the session)."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.lock = threading.Lock()
        self.access = self.refresh_token = None
        self.expires_at = 0.0
        self.lifetime = 0.0
        self.user_id = None

    def request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("accept", "application/json")
        if data is not None:
            req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                text = res.read().decode()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read().decode() or "{}").get("error", {})
            raise RuntimeError(f"{method} {path}: {error.code} {detail.get('code')}") from None

    def call(self, method, path, body=None):
        return self.request(method, path, body, token=self.token())

    def login(self, login, password):
        result = self.request("POST", "/api/auth/login", {"login": login, "password": password})
        self.user_id = result["user"]["id"]
        self._use(result)

    def _use(self, pair):
        self.access, self.refresh_token = pair["accessToken"], pair["refreshToken"]
        self.lifetime = pair["expiresIn"]
        # JWT expiry is in whole seconds: count from one second earlier.
        self.expires_at = time.time() + pair["expiresIn"] - 1

    def refresh_due_in(self):
        leeway = min(60.0, self.lifetime / 5)
        return max(0.0, self.expires_at - leeway - time.time())

    def token(self):
        if self.refresh_due_in() <= 0:
            self.refresh()
        return self.access

    def refresh(self):
        with self.lock:
            if self.refresh_due_in() > 0:  # another thread refreshed while we waited
                return self.access
            self._use(self.request("POST", "/api/auth/refresh",
                                   {"refreshToken": self.refresh_token}))
            return self.access


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=["websocket", "polling"], default="websocket")
    args = parser.parse_args()

    api = Parley(os.environ.get("PARLEY_URL", "http://127.0.0.1:3000"))
    api.login(os.environ["BOT_LOGIN"], os.environ["BOT_PASSWORD"])
    say("logged-in", api.user_id)

    sio = socketio.Client(reconnection=True)
    joined = set()
    stopping = threading.Event()

    def join(conversation_id):
        ack = sio.call("join_room", {"conversationId": conversation_id}, timeout=10)
        if ack.get("ok"):
            joined.add(conversation_id)
            say("joined", conversation_id)
        else:
            say("join-refused", conversation_id, ack["error"]["code"])

    def join_all():
        cursor = None
        while True:
            query = "?limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = api.call("GET", "/api/conversations" + query)
            for conversation in page["items"]:
                join(conversation["id"])
            cursor = page["nextCursor"]
            if not cursor:
                return

    @sio.event
    def connect():
        # Rooms are per connection: (re)join everything, off the event thread.
        def setup():
            joined.clear()
            join_all()
            say("ready")
        sio.start_background_task(setup)

    @sio.event
    def message_received(payload):
        message = payload["message"]
        if message["senderId"] == api.user_id or message["type"] != "text":
            return

        def answer():
            # Derived from the message answered: a retried answer is stored once.
            ack = sio.call("send_message", {
                "conversationId": message["conversationId"],
                "content": "echo: " + message["content"],
                "clientMessageId": "re-" + message["id"],
            }, timeout=10)
            if ack.get("ok"):
                say("replied", message["id"])
            else:
                say("reply-refused", message["id"], ack["error"]["code"])
        sio.start_background_task(answer)

    @sio.event
    def conversation_updated(payload):
        conversation = payload["conversation"]
        members = [p["id"] for p in conversation["participants"]]
        if api.user_id in members and conversation["id"] not in joined:
            sio.start_background_task(join, conversation["id"])

    @sio.event
    def auth_expired(payload):
        # The server disconnects next; reconnect with a fresh token (refresh first).
        say("auth-expired", payload["reason"])

        def reconnect():
            api.refresh()
            sio.disconnect()
            sio.connect(api.url, auth=lambda: {"token": api.token()},
                        transports=[args.transport])
        sio.start_background_task(reconnect)

    def renew_forever():
        # Before the access token expires: refresh, then hand the new token to the socket.
        while not stopping.wait(api.refresh_due_in()):
            try:
                token = api.refresh()
                if sio.connected:
                    ack = sio.call("auth", {"token": token}, timeout=10)
                    say("renewed" if ack.get("ok") else "renew-refused")
            except Exception as error:  # noqa: BLE001 - keep renewing; report and retry
                say("renew-failed", error)
                stopping.wait(1)

    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    sio.connect(api.url, auth=lambda: {"token": api.token()}, transports=[args.transport])
    threading.Thread(target=renew_forever, daemon=True).start()
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        stopping.set()
    sio.disconnect()
    say("stopped")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001
        say("fatal", error)
        sys.exit(1)
