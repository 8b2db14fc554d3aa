"""Walks a service directory's disco node tree with slixmpp (XEP-0030), as a generic disco browser would,
and prints what it saw as JSON: the root's items and, for every node of the directory it reached, the
node's identities and items (or the error it got).

usage: disco_walk.py host:port jid password directory-jid [max-nodes]
"""
import json
import sys

import slixmpp
from loopback import run_on_loopback
from slixmpp.exceptions import IqError, IqTimeout


class Walker(slixmpp.ClientXMPP):
    def __init__(self, jid, password, target, max_nodes):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.target = target
        self.max_nodes = max_nodes
        self.result = None
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        disco = self["xep_0030"]
        root = await disco.get_items(jid=self.target, timeout=10)
        root_items = [list(i) for i in root["disco_items"]["items"]]
        nodes = {}
        queue = [node for (jid, node, _name) in root["disco_items"]["items"] if jid == self.target and node]
        while queue and len(nodes) < self.max_nodes:
            node = queue.pop(0)
            if node in nodes:
                continue
            entry = {}
            try:
                info = await disco.get_info(jid=self.target, node=node, timeout=10)
                entry["identities"] = [[c, t, n] for (c, t, _lang, n) in info["disco_info"]["identities"]]
                items = await disco.get_items(jid=self.target, node=node, timeout=10)
                entry["items"] = [list(i) for i in items["disco_items"]["items"]]
                # Deeper branches of the directory itself (e.g. features -> features/<var>).
                queue.extend(n for (j, n, _name) in items["disco_items"]["items"] if j == self.target and n and n not in nodes)
            except IqError as err:
                entry["error"] = err.iq["error"]["condition"]
            except IqTimeout:
                entry["error"] = "timeout"
            nodes[node] = entry
        self.result = {"root": root_items, "nodes": nodes}
        self.disconnect()


def main():
    jid, password, target = sys.argv[2:5]
    max_nodes = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    xmpp = Walker(jid, password, target, max_nodes)
    run_on_loopback(xmpp, sys.argv[1], timeout=30)
    print(json.dumps(xmpp.result if xmpp.result else {"error": "no walk"}, ensure_ascii=False))
    sys.exit(0 if xmpp.result else 1)


if __name__ == "__main__":
    main()
