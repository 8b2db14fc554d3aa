"""Sends one chat message to a component with slixmpp and prints the echo as JSON.

usage: slix_echo.py host:port jid password component-jid body
"""
import json
import sys

import slixmpp
from loopback import run_on_loopback


class EchoCheck(slixmpp.ClientXMPP):
    def __init__(self, jid, password, target, body):
        super().__init__(jid, password)
        self.target = target
        self.body = body
        self.result = None
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)

    async def start(self, _event):
        self.send_presence()
        self.send_message(mto=self.target, mbody=self.body, mtype="chat")

    def on_message(self, msg):
        if msg["from"].bare == self.target and msg["type"] == "chat":
            self.result = {"echoed": msg["body"], "from": str(msg["from"])}
            self.disconnect()


def main():
    jid, password, target, body = sys.argv[2:6]
    xmpp = EchoCheck(jid, password, target, body)
    run_on_loopback(xmpp, sys.argv[1], timeout=15)
    print(json.dumps(xmpp.result if xmpp.result else {"error": "no echo"}, ensure_ascii=False))
    sys.exit(0 if xmpp.result else 1)


if __name__ == "__main__":
    main()
