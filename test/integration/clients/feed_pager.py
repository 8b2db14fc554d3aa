"""A slixmpp client of the feed: disco, subscribe, RSM count, pages a node forward and backward with
xep_0059's iterator, then waits for live notifications. Prints JSON lines:
  {"ready": {...}} once paging is done and it is subscribed, then {"live": [...]} at the end.

usage: feed_pager.py host:port jid password feed-jid node live-count page-size
"""
import asyncio
import json
import sys

import slixmpp
from loopback import run_on_loopback
from slixmpp.plugins.xep_0059.stanza import Set
from slixmpp.plugins.xep_0060.stanza.pubsub import Pubsub
from slixmpp.xmlstream import register_stanza_plugin

# xep_0059 registers <set/> on disco#items only; pubsub items carry it too (XEP-0060 §6.5.4).
register_stanza_plugin(Pubsub, Set)


def emit(obj):
    print(json.dumps(obj), flush=True)


class Pager(slixmpp.ClientXMPP):
    def __init__(self, jid, password, feed, node, live_count, page):
        super().__init__(jid, password)
        self.feed, self.node, self.live_count, self.page = feed, node, live_count, page
        self.live = []
        self.done = asyncio.get_event_loop().create_future()
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0059")
        self.register_plugin("xep_0060")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("pubsub_publish", self.on_publish)

    def items_query(self):
        iq = self.Iq(sto=self.feed, stype="get")
        iq["pubsub"]["items"]["node"] = self.node
        return iq

    async def walk(self, reverse):
        ids = []
        firsts = []
        async for page in self["xep_0059"].iterate(self.items_query(), "pubsub", amount=self.page, reverse=reverse):
            got = [item["id"] for item in page["pubsub"]["items"]]
            firsts.append(page["pubsub"]["rsm"]["first_index"])
            ids = got + ids if reverse else ids + got
        return ids, firsts

    async def start(self, _event):
        try:
            self.send_presence()
            await self.get_roster()
            info = await self["xep_0030"].get_info(jid=self.feed)
            features = info["disco_info"]["features"]
            await self["xep_0060"].subscribe(self.feed, self.node, bare=False)
            count_iq = self.items_query()
            count_iq["pubsub"]["rsm"]["max"] = "0"
            counted = await count_iq.send()
            forward, forward_firsts = await self.walk(False)
            backward, backward_firsts = await self.walk(True)
            emit({"ready": {
                "rsm_feature": "http://jabber.org/protocol/pubsub#rsm" in features,
                "count": int(counted["pubsub"]["rsm"]["count"]),
                "forward": forward, "backward": backward,
                "forward_pages": len(forward_firsts), "backward_pages": len(backward_firsts),
                "first_index_of_last_page": backward_firsts[0] if backward_firsts else None,
            }})
        except Exception as err:  # report, do not hang
            emit({"error": repr(err)})
            self.disconnect()

    def on_publish(self, msg):
        if msg["from"].bare != self.feed:
            return
        item = msg["pubsub_event"]["items"]["item"]
        self.live.append({"node": msg["pubsub_event"]["items"]["node"], "id": item["id"], "type": msg["type"], "payload": str(item.xml[0].text) if len(item.xml) else None})
        if len(self.live) >= self.live_count:
            emit({"live": self.live})
            self.disconnect()


def main():
    jid, password, feed, node = sys.argv[2:6]
    live_count, page = int(sys.argv[6]), int(sys.argv[7])
    xmpp = Pager(jid, password, feed, node, live_count, page)
    if not run_on_loopback(xmpp, sys.argv[1], timeout=45):
        emit({"error": "timed out", "live": xmpp.live})
        sys.exit(1)


if __name__ == "__main__":
    main()
