"""Variant B: a Slixmpp ComponentXMPP echo (research 4.1); with `iq N`, N IQ handlers for urn:bench:0..N-1.

usage: slix-echo.py host:port domain [iq N]   (secret in $BENCH_SECRET); run with /usr/bin/python3.
"""
import asyncio
import os
import signal
import sys

from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath


class Echo(ComponentXMPP):
    def __init__(self, domain, secret, host, port, iq_handlers):
        super().__init__(domain, secret, host, port)
        if iq_handlers:
            # One handler per namespace, the way Slixmpp plugins register theirs.
            for k in range(iq_handlers):
                xpath = "{jabber:component:accept}iq/{urn:bench:%d}query" % k
                self.register_handler(Callback("bench %d" % k, MatchXPath(xpath), self.result))
        else:
            self.add_event_handler("message", self.echo)

    def echo(self, msg):
        if msg["type"] in ("chat", "normal"):
            reply = msg.reply(msg["body"])
            # Slixmpp gives a message reply a fresh id; keep the request's, as the other variants do
            # (the generator matches replies by id).
            reply["id"] = msg["id"]
            reply.send()

    def result(self, iq):
        if iq["type"] in ("get", "set"):
            iq.reply().send()


def main():
    host, port = sys.argv[1].split(":")
    domain = sys.argv[2]
    iq_handlers = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "iq" else 0
    xmpp = Echo(domain, os.environ.get("BENCH_SECRET", ""), host, int(port), iq_handlers)
    xmpp.connect()
    loop = asyncio.get_event_loop()
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()


if __name__ == "__main__":
    main()
