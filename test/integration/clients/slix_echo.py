"""Sends one chat message to a component with slixmpp and prints the echo as JSON.

usage: slix_echo.py host:port jid password component-jid body
"""
import asyncio
import json
import sys

import slixmpp


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
    host, port = sys.argv[1].split(":")
    jid, password, target, body = sys.argv[2:6]
    xmpp = EchoCheck(jid, password, target, body)
    # Loopback test server without certificates: plain c2s, PLAIN/SCRAM allowed.
    xmpp.enable_starttls = False
    xmpp.enable_direct_tls = False
    xmpp.enable_plaintext = True
    xmpp["feature_mechanisms"].unencrypted_plain = True
    xmpp.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(xmpp.disconnected, timeout=15))
    except asyncio.TimeoutError:
        pass
    print(json.dumps(xmpp.result if xmpp.result else {"error": "no echo"}, ensure_ascii=False))
    sys.exit(0 if xmpp.result else 1)


if __name__ == "__main__":
    main()
