"""An independent XEP-0060 conformance client (slixmpp, no Annex code). Three accounts (an owner, a
subscriber, another entity) send the XEP's own example stanzas (XEP-0060 v1.30, sections 5 to 8; JIDs and
node names adapted) to a pubsub service through a real server, and judge each answer against the XEP:

  yes      answered as the XEP says (including its SHOULDs where the case names one)
  partial  the use case works, but the answer deviates (error type, missing pubsub#errors child or SHOULD)
  no       not implemented, refused, or answered wrongly

Prints {"features": [...]} (the service's disco#info features), one JSON line per use case:
{"case", "section", "feature", "verdict", "detail"}, then {"done": n}.

usage: pubsub_conformance.py host:port service owner-jid owner-pw subscriber-jid subscriber-pw other-jid other-pw
"""
import asyncio
import itertools
import json
import sys
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

PUBSUB = "http://jabber.org/protocol/pubsub"
OWNER = PUBSUB + "#owner"
EVENT = PUBSUB + "#event"
ERRORS = PUBSUB + "#errors"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
DATA = "jabber:x:data"
RSM = "http://jabber.org/protocol/rsm"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
DELAY = "urn:xmpp:delay"
ENTRY = "<entry xmlns='http://www.w3.org/2005/Atom'><title>Soliloquy</title><summary>To be, or not to be: that is the question</summary></entry>"

ids = itertools.count(1)
RUN = str(int(time.time() * 1000) % 10_000_000)


def q(tag, ns):
    return "{%s}%s" % (ns, tag)


class Account(slixmpp.ClientXMPP):
    """A client that sends raw stanzas and collects every IQ answer (by id) and every message."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.answers = {}
        self.messages = []
        self.ready = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.start)
        self.register_handler(Callback("answers", MatchXPath("{jabber:client}iq"), self.on_iq))
        self.register_handler(Callback("messages", MatchXPath("{jabber:client}message"), self.on_message))

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        if not self.ready.done():
            self.ready.set_result(True)

    def on_iq(self, iq):
        if iq["type"] in ("result", "error"):
            fut = self.answers.get(iq["id"])
            if fut and not fut.done():
                fut.set_result(iq.xml)

    def on_message(self, msg):
        self.messages.append(msg.xml)

    async def ask(self, raw, timeout=15):
        """Sends `raw` (an <iq/> with id='{id}') and returns the answer element (or None on timeout)."""
        sid = "c%d" % next(ids)
        fut = asyncio.get_event_loop().create_future()
        self.answers[sid] = fut
        self.send_raw(raw.replace("{id}", sid))
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            return None

    async def wait_message(self, pred, timeout=10, since=0):
        """The first message (from index `since`) for which pred(el) is true, waiting up to `timeout` s."""
        end = time.time() + timeout
        while time.time() < end:
            for m in self.messages[since:]:
                if pred(m):
                    return m
            await asyncio.sleep(0.05)
        return None


def is_result(el):
    return el is not None and el.get("type") == "result"


def error_of(el):
    if el is None or el.get("type") != "error":
        return None
    return el.find("{jabber:client}error")


def judge_error(el, etype, condition, app=None, feature=None):
    """yes: type, condition and the pubsub#errors child as the XEP says; partial: condition right, rest not."""
    err = error_of(el)
    if err is None:
        return "no", "expected an error, got %s" % describe(el)
    if err.find(q(condition, STANZAS)) is None:
        return "no", "expected %s, got %s" % (condition, describe(el))
    problems = []
    if err.get("type") != etype:
        problems.append("type %s, not %s" % (err.get("type"), etype))
    if app is not None:
        a = err.find(q(app, ERRORS))
        if a is None:
            problems.append("no pubsub#errors %s" % app)
        elif feature is not None and a.get("feature") != feature:
            problems.append("feature %s, not %s" % (a.get("feature"), feature))
    if problems:
        return "partial", "; ".join(problems)
    return "yes", condition


def describe(el):
    if el is None:
        return "no answer"
    if el.get("type") == "error":
        err = el.find("{jabber:client}error")
        conds = [c.tag.split("}")[1] for c in (err if err is not None else [])]
        return "error %s %s" % (err.get("type") if err is not None else "?", " ".join(conds))
    return el.get("type") or "?"


def form_xml(form_type, fields, ftype="submit"):
    inner = "".join("<field var='%s'><value>%s</value></field>" % (k, v) for k, v in fields.items())
    return "<x xmlns='jabber:x:data' type='%s'><field var='FORM_TYPE' type='hidden'><value>%s</value></field>%s</x>" % (ftype, form_type, inner)


def field(x, var):
    if x is None:
        return None
    for f in x.findall(q("field", DATA)):
        if f.get("var") == var:
            v = f.find(q("value", DATA))
            return v.text if v is not None else ""
    return None


class Conformance:
    def __init__(self, service, owner, sub, other):
        self.svc, self.owner, self.sub, self.other = service, owner, sub, other
        self.count = 0

    def node(self, name):
        return "c%s-%s" % (RUN, name)

    def emit(self, case, section, feature, verdict, detail=""):
        self.count += 1
        print(json.dumps({"case": case, "section": section, "feature": feature, "verdict": verdict, "detail": detail}), flush=True)

    def iq(self, itype, body, ns=PUBSUB):
        return "<iq type='%s' to='%s' id='{id}'><pubsub xmlns='%s'>%s</pubsub></iq>" % (itype, self.svc, ns, body)

    async def create(self, name, config=None):
        """The owner creates a node (XEP-0060 §8.1.1, or §8.1.3 with a configuration)."""
        conf = "<configure>%s</configure>" % form_xml(PUBSUB + "#node_config", config) if config else ""
        return await self.owner.ask(self.iq("set", "<create node='%s'/>%s" % (name, conf)))

    async def configure(self, name, fields):
        return await self.owner.ask(self.iq("set", "<configure node='%s'>%s</configure>" % (name, form_xml(PUBSUB + "#node_config", fields)), OWNER))

    async def publish(self, who, name, item_id=None, payload=ENTRY):
        attr = " id='%s'" % item_id if item_id else ""
        return await who.ask(self.iq("set", "<publish node='%s'><item%s>%s</item></publish>" % (name, attr, payload)))

    async def subscribe(self, who, name, jid=None):
        return await who.ask(self.iq("set", "<subscribe node='%s' jid='%s'/>" % (name, jid or who.boundjid.bare)))

    async def run(self):
        await self.discovery()
        await self.subscriber()
        await self.publisher()
        await self.owner_cases()
        print(json.dumps({"done": self.count}), flush=True)

    # ---- §5 entity use cases ----
    async def discovery(self):
        main = self.node("main")
        created = await self.create(main)
        await self.publish(self.owner, main, "ae890ac52d0df67ed7cfdf51b644e901")
        r = await self.sub.ask("<iq type='get' to='%s' id='{id}'><query xmlns='%s'/></iq>" % (self.svc, DISCO_INFO))
        ident = r.find("%s/%s" % (q("query", DISCO_INFO), q("identity", DISCO_INFO))) if is_result(r) else None
        self.features = [f.get("var") for f in r.findall("%s/%s" % (q("query", DISCO_INFO), q("feature", DISCO_INFO)))] if is_result(r) else []
        print(json.dumps({"features": self.features}), flush=True)
        ok = ident is not None and ident.get("category") == "pubsub" and ident.get("type") == "service"
        self.emit("disco-info-service", "5.1", None, "yes" if ok and PUBSUB in self.features else "partial" if ok else "no", describe(r))
        r = await self.sub.ask("<iq type='get' to='%s' id='{id}'><query xmlns='%s'/></iq>" % (self.svc, DISCO_ITEMS))
        nodes = [i.get("node") for i in r.findall("%s/%s" % (q("query", DISCO_ITEMS), q("item", DISCO_ITEMS)))] if is_result(r) else []
        self.emit("disco-items-nodes", "5.2", None, "yes" if main in nodes else "no", "%d nodes" % len(nodes))
        r = await self.sub.ask("<iq type='get' to='%s' id='{id}'><query xmlns='%s' node='%s'/></iq>" % (self.svc, DISCO_INFO, main))
        ident = r.find("%s/%s" % (q("query", DISCO_INFO), q("identity", DISCO_INFO))) if is_result(r) else None
        self.emit("disco-info-node", "5.3", None, "yes" if ident is not None and ident.get("type") == "leaf" else "no", describe(r))
        x = r.find("%s/%s" % (q("query", DISCO_INFO), q("x", DATA))) if is_result(r) else None
        self.emit("node-meta-data", "5.4", "meta-data", "yes" if field(x, "FORM_TYPE") == PUBSUB + "#meta-data" else "no", describe(r))
        r = await self.sub.ask("<iq type='get' to='%s' id='{id}'><query xmlns='%s' node='%s'/></iq>" % (self.svc, DISCO_ITEMS, main))
        names = [i.get("name") for i in r.findall("%s/%s" % (q("query", DISCO_ITEMS), q("item", DISCO_ITEMS)))] if is_result(r) else []
        self.emit("disco-items-node-items", "5.5", None, "yes" if "ae890ac52d0df67ed7cfdf51b644e901" in names else "no", describe(r))
        # XEP-0059 §2.5 on disco#items: a node's items can be paged.
        for i in range(3):
            await self.publish(self.owner, main, "page%d" % i)
        r = await self.sub.ask("<iq type='get' to='%s' id='{id}'><query xmlns='%s' node='%s'><set xmlns='%s'><max>2</max></set></query></iq>" % (self.svc, DISCO_ITEMS, main, RSM))
        items = r.findall("%s/%s" % (q("query", DISCO_ITEMS), q("item", DISCO_ITEMS))) if is_result(r) else []
        rset = r.find("%s/%s" % (q("query", DISCO_ITEMS), q("set", RSM))) if is_result(r) else None
        self.emit("disco-items-node-rsm", "5.5", "rsm", "yes" if len(items) == 2 and rset is not None and rset.find(q("last", RSM)) is not None else "no", "%d items, set %s" % (len(items), rset is not None))
        await self.subscribe(self.sub, main)
        r = await self.sub.ask(self.iq("get", "<subscriptions/>"))
        subs = r.findall("%s/%s/%s" % (q("pubsub", PUBSUB), q("subscriptions", PUBSUB), q("subscription", PUBSUB))) if is_result(r) else []
        self.emit("retrieve-subscriptions", "5.6", "retrieve-subscriptions", "yes" if any(s.get("node") == main for s in subs) else "no", describe(r))
        r = await self.sub.ask(self.iq("get", "<subscriptions node='%s'/>" % main))
        subs = r.findall("%s/%s/%s" % (q("pubsub", PUBSUB), q("subscriptions", PUBSUB), q("subscription", PUBSUB))) if is_result(r) else []
        self.emit("retrieve-subscriptions-node", "5.6", "retrieve-subscriptions", "yes" if len(subs) == 1 and subs[0].get("subscription") == "subscribed" else "no", describe(r))
        r = await self.owner.ask(self.iq("get", "<affiliations/>"))
        affs = r.findall("%s/%s/%s" % (q("pubsub", PUBSUB), q("affiliations", PUBSUB), q("affiliation", PUBSUB))) if is_result(r) else []
        self.emit("retrieve-affiliations", "5.7", "retrieve-affiliations", "yes" if any(a.get("node") == main and a.get("affiliation") == "owner" for a in affs) else "no", describe(r))
        self.main = main

    # ---- §6 subscriber use cases ----
    async def subscriber(self):
        main = self.node("main")
        n = self.node("sub")
        await self.create(n)
        # §6.1.7: the last published item, with a delay stamp (SHOULD).
        await self.publish(self.owner, n, "last1")
        since = len(self.sub.messages)
        r = await self.subscribe(self.sub, n)
        s = r.find("%s/%s" % (q("pubsub", PUBSUB), q("subscription", PUBSUB))) if is_result(r) else None
        self.emit("subscribe", "6.1", "subscribe", "yes" if s is not None and s.get("subscription") == "subscribed" else "no", describe(r))
        m = await self.sub.wait_message(lambda m: m.find(".//%s" % q("item", EVENT)) is not None and m.find(".//%s" % q("items", EVENT)).get("node") == n, since=since)
        if m is None:
            self.emit("last-published-on-subscribe", "6.1.7", "last-published", "no", "no last item")
        else:
            self.emit("last-published-on-subscribe", "6.1.7", "last-published", "yes" if m.find(q("delay", DELAY)) is not None else "partial", "delay stamp" if m.find(q("delay", DELAY)) is not None else "no urn:xmpp:delay stamp")
        r = await self.sub.ask(self.iq("set", "<subscribe node='%s' jid='%s'/>" % (n, self.other.boundjid.bare)))
        self.emit("subscribe-invalid-jid", "6.1.3.1", "subscribe", *judge_error(r, "modify", "bad-request", "invalid-jid"))
        r = await self.sub.ask(self.iq("set", "<subscribe node='%s' jid='%s'/>" % (self.node("nonexistent"), self.sub.boundjid.bare)))
        self.emit("subscribe-no-node", "6.1.3.12", "subscribe", *judge_error(r, "cancel", "item-not-found"))
        wl = self.node("wl")
        c = await self.create(wl, {"pubsub#access_model": "whitelist"})
        r = await self.subscribe(self.other, wl)
        self.emit("subscribe-whitelist", "6.1.3.4", "access-whitelist", *judge_error(r, "cancel", "not-allowed", "closed-node") if is_result(c) else ("no", "could not create a whitelist node: " + describe(c)))
        au = self.node("auth")
        c = await self.create(au, {"pubsub#access_model": "authorize"})
        since_owner = len(self.owner.messages)
        r = await self.subscribe(self.other, au)
        s = r.find("%s/%s" % (q("pubsub", PUBSUB), q("subscription", PUBSUB))) if is_result(r) else None
        self.emit("subscribe-pending", "6.1.4", "access-authorize", "yes" if is_result(c) and s is not None and s.get("subscription") == "pending" else "no", describe(c) + "/" + describe(r))
        self.authorize = (au, since_owner)
        pr = self.node("presence")
        c = await self.create(pr, {"pubsub#access_model": "presence"})
        r = await self.subscribe(self.other, pr)
        self.emit("subscribe-presence-required", "6.1.3.2", "access-presence", *judge_error(r, "auth", "not-authorized", "presence-subscription-required") if is_result(c) else ("no", "could not create a presence node: " + describe(c)))
        # §4.5: the subscriber has a presence subscription to the owner (set up in main), so it may subscribe.
        r = await self.subscribe(self.sub, pr)
        self.emit("subscribe-presence-allowed", "6.1", "access-presence", "yes" if is_result(c) and is_result(r) else "no", describe(c) + "/" + describe(r))
        # §6.1.6 multiple subscriptions of one JID, told apart by subid.
        opts = "<options>%s</options>" % form_xml(PUBSUB + "#subscribe_options", {"pubsub#deliver": "1"})
        r1 = await self.other.ask(self.iq("set", "<subscribe node='%s' jid='%s'/>%s" % (main, self.other.boundjid.bare, opts)))
        r2 = await self.other.ask(self.iq("set", "<subscribe node='%s' jid='%s'/>%s" % (main, self.other.boundjid.bare, opts.replace("<value>1</value>", "<value>0</value>"))))
        sid = lambda r: r.find("%s/%s" % (q("pubsub", PUBSUB), q("subscription", PUBSUB))).get("subid") if is_result(r) else None
        self.emit("multi-subscribe", "6.1.6", "multi-subscribe", "yes" if sid(r1) and sid(r2) and sid(r1) != sid(r2) else "no", "subids %s %s" % (sid(r1), sid(r2)))
        # §6.2 unsubscribe.
        r = await self.sub.ask(self.iq("set", "<unsubscribe node='%s' jid='%s'/>" % (n, self.sub.boundjid.bare)))
        self.emit("unsubscribe", "6.2", "subscribe", "yes" if is_result(r) else "no", describe(r))
        r = await self.sub.ask(self.iq("set", "<unsubscribe node='%s' jid='%s'/>" % (n, self.sub.boundjid.bare)))
        self.emit("unsubscribe-not-subscribed", "6.2.3.2", "subscribe", *judge_error(r, "cancel", "unexpected-request", "not-subscribed"))
        r = await self.other.ask(self.iq("set", "<unsubscribe node='%s' jid='%s'/>" % (main, self.sub.boundjid.bare)))
        self.emit("unsubscribe-forbidden", "6.2.3.3", "subscribe", *judge_error(r, "auth", "forbidden"))
        r = await self.sub.ask(self.iq("set", "<unsubscribe node='%s' jid='%s'/>" % (self.node("nonexistent"), self.sub.boundjid.bare)))
        self.emit("unsubscribe-no-node", "6.2.3.4", "subscribe", *judge_error(r, "cancel", "item-not-found"))
        # §6.3 subscription options.
        me = self.sub.boundjid.bare
        r = await self.sub.ask(self.iq("get", "<options node='%s' jid='%s'/>" % (main, me)))
        x = r.find("%s/%s/%s" % (q("pubsub", PUBSUB), q("options", PUBSUB), q("x", DATA))) if is_result(r) else None
        self.emit("options-get", "6.3.2", "subscription-options", "yes" if field(x, "FORM_TYPE") == PUBSUB + "#subscribe_options" else "no", describe(r))
        r = await self.sub.ask(self.iq("set", "<options node='%s' jid='%s'>%s</options>" % (main, me, form_xml(PUBSUB + "#subscribe_options", {"pubsub#deliver": "1", "pubsub#include_body": "0"}))))
        self.emit("options-submit", "6.3.5", "subscription-options", "yes" if is_result(r) else "no", describe(r))
        r = await self.sub.ask(self.iq("get", "<options node='%s' jid='%s'/>" % (main, self.other.boundjid.bare)))
        self.emit("options-forbidden", "6.3.4.1", "subscription-options", *judge_error(r, "auth", "forbidden"))
        r = await self.sub.ask(self.iq("get", "<options node='%s' jid='%s'/>" % (n, me)))
        self.emit("options-not-subscribed", "6.3.4.2", "subscription-options", *judge_error(r, "modify", "unexpected-request", "not-subscribed"))
        r = await self.sub.ask(self.iq("set", "<options node='%s' jid='%s'>%s</options>" % (main, me, form_xml(PUBSUB + "#subscribe_options", {"pubsub#deliver": "sometimes"}))))
        self.emit("options-invalid", "6.3.6", "subscription-options", *judge_error(r, "modify", "bad-request", "invalid-options"))
        r = await self.sub.ask(self.iq("set", "<subscribe node='%s' jid='%s'/><options>%s</options>" % (n, me, form_xml(PUBSUB + "#subscribe_options", {"pubsub#deliver": "1"}))))
        self.emit("subscribe-and-configure", "6.3.7", "subscription-options", "yes" if is_result(r) else "no", describe(r))
        r = await self.sub.ask(self.iq("get", "<default/>"))
        x = r.find("%s/%s/%s" % (q("pubsub", PUBSUB), q("default", PUBSUB), q("x", DATA))) if is_result(r) else None
        self.emit("default-subscription-options", "6.4", "retrieve-default-sub", "yes" if field(x, "FORM_TYPE") == PUBSUB + "#subscribe_options" else "no", describe(r))
        # §6.5 items.
        items = lambda r: [i.get("id") for i in r.findall("%s/%s/%s" % (q("pubsub", PUBSUB), q("items", PUBSUB), q("item", PUBSUB)))] if is_result(r) else []
        r = await self.sub.ask(self.iq("get", "<items node='%s'/>" % main))
        self.emit("items-all", "6.5.2", "persistent-items", "yes" if "ae890ac52d0df67ed7cfdf51b644e901" in items(r) else "no", describe(r))
        # §4.5 access-open: the default model lets anyone (not subscribed) retrieve items.
        r = await self.other.ask(self.iq("get", "<items node='%s'/>" % main))
        self.emit("items-open-node", "6.5.2", "access-open", "yes" if "ae890ac52d0df67ed7cfdf51b644e901" in items(r) else "no", describe(r))
        r = await self.sub.ask(self.iq("get", "<items node='%s'/><set xmlns='%s'><max>2</max></set>" % (main, RSM)))
        rset = r.find("%s/%s" % (q("pubsub", PUBSUB), q("set", RSM))) if is_result(r) else None
        self.emit("items-rsm", "6.5.4", "rsm", "yes" if len(items(r)) == 2 and rset is not None and rset.find(q("first", RSM)) is not None else "no", "%d items, set %s" % (len(items(r)), rset is not None))
        r = await self.sub.ask(self.iq("get", "<items node='%s' max_items='2'/>" % main))
        self.emit("items-max", "6.5.7", "retrieve-items", "yes" if items(r) == ["page1", "page2"] else "partial" if len(items(r)) == 2 else "no", " ".join(items(r)))
        r = await self.sub.ask(self.iq("get", "<items node='%s'><item id='ae890ac52d0df67ed7cfdf51b644e901'/></items>" % main))
        self.emit("items-by-id", "6.5.8", "item-ids", "yes" if items(r) == ["ae890ac52d0df67ed7cfdf51b644e901"] else "no", " ".join(items(r)))
        r = await self.sub.ask(self.iq("get", "<items node='%s'/>" % self.node("nonexistent")))
        self.emit("items-no-node", "6.5.9.11", "retrieve-items", *judge_error(r, "cancel", "item-not-found"))
        r = await self.sub.ask(self.iq("get", "<items node='%s'><item id='no-such-item'/></items>" % main))
        self.emit("items-none", "6.5.9.12", "retrieve-items", "yes" if is_result(r) and items(r) == [] else "no", describe(r))

    # ---- §7 publisher use cases ----
    async def publisher(self):
        n = self.node("pub")
        await self.create(n)
        await self.subscribe(self.sub, n)
        await asyncio.sleep(0.2)
        since = len(self.sub.messages)
        r = await self.publish(self.owner, n, "bnd81g37d61f49fgn581")
        it = r.find("%s/%s/%s" % (q("pubsub", PUBSUB), q("publish", PUBSUB), q("item", PUBSUB))) if is_result(r) else None
        self.emit("publish", "7.1", "publish", "yes" if is_result(r) and (it is None or it.get("id") == "bnd81g37d61f49fgn581") else "no", describe(r))
        m = await self.sub.wait_message(lambda m: m.find(".//%s[@id='bnd81g37d61f49fgn581']" % q("item", EVENT)) is not None, since=since)
        has_payload = m is not None and m.find(".//{http://www.w3.org/2005/Atom}entry") is not None
        self.emit("notification-with-payload", "7.1.2.1", "publish", ("yes" if m.get("id") else "partial") if has_payload else "no", "message id" if m is not None and m.get("id") else "no message id" if m is not None else "no notification")
        r = await self.publish(self.owner, n)
        it = r.find("%s/%s/%s" % (q("pubsub", PUBSUB), q("publish", PUBSUB), q("item", PUBSUB))) if is_result(r) else None
        self.emit("publish-generated-id", "7.1.2", "item-ids", "yes" if it is not None and it.get("id") else "no", describe(r))
        r = await self.publish(self.other, n)
        self.emit("publish-forbidden", "7.1.3.1", "publish", *judge_error(r, "auth", "forbidden"))
        r = await self.publish(self.owner, self.node("nonexistent-pub"))
        self.emit("publish-no-node", "7.1.3.3", "publish", *judge_error(r, "cancel", "item-not-found"))
        r = await self.owner.ask(self.iq("set", "<publish node='%s'><item>%s%s</item></publish>" % (n, ENTRY, ENTRY)))
        self.emit("publish-bad-payload", "7.1.3.5", "publish", *judge_error(r, "modify", "bad-request", "invalid-payload"))
        r = await self.owner.ask(self.iq("set", "<publish node='%s'/>" % n))
        self.emit("publish-item-required", "7.1.3.6", "publish", *judge_error(r, "modify", "bad-request", "item-required"))
        po = "<publish-options>%s</publish-options>" % form_xml(PUBSUB + "#publish-options", {"pubsub#access_model": "whitelist"})
        r = await self.owner.ask(self.iq("set", "<publish node='%s'><item>%s</item></publish>%s" % (n, ENTRY, po)))
        self.emit("publish-options-precondition", "7.1.5", "publish-options", *judge_error(r, "cancel", "conflict", "precondition-not-met"))
        po = "<publish-options>%s</publish-options>" % form_xml(PUBSUB + "#publish-options", {"pubsub#access_model": "open"})
        r = await self.owner.ask(self.iq("set", "<publish node='%s'><item>%s</item></publish>%s" % (n, ENTRY, po)))
        self.emit("publish-options-met", "7.1.5", "publish-options", "yes" if is_result(r) else "no", describe(r))
        since = len(self.sub.messages)
        r = await self.owner.ask(self.iq("set", "<retract node='%s' notify='true'><item id='bnd81g37d61f49fgn581'/></retract>" % n))
        m = await self.sub.wait_message(lambda m: m.find(".//%s" % q("retract", EVENT)) is not None, since=since)
        self.emit("retract-notify", "7.2", "retract-items", "yes" if is_result(r) and m is not None else "partial" if is_result(r) else "no", describe(r) + (" + event" if m is not None else " no event"))
        await self.publish(self.owner, n, "to-delete")
        r = await self.owner.ask(self.iq("set", "<retract node='%s'><item id='to-delete'/></retract>" % n))
        g = await self.sub.ask(self.iq("get", "<items node='%s'><item id='to-delete'/></items>" % n))
        gone = is_result(g) and g.find(".//%s" % q("item", PUBSUB)) is None
        self.emit("retract", "7.2", "delete-items", "yes" if is_result(r) and gone else "no", describe(r))
        r = await self.owner.ask(self.iq("set", "<retract node='%s'><item id='no-such-item'/></retract>" % n))
        self.emit("retract-no-item", "7.2.3.3", "delete-items", *judge_error(r, "cancel", "item-not-found"))
        r = await self.other.ask(self.iq("set", "<retract node='%s'><item id='whatever'/></retract>" % n))
        self.emit("retract-forbidden", "7.2.3.1", "delete-items", *judge_error(r, "auth", "forbidden"))
        r = await self.owner.ask(self.iq("set", "<retract><item id='whatever'/></retract>"))
        self.emit("retract-nodeid-required", "7.2.3.2", "delete-items", *judge_error(r, "modify", "bad-request", "nodeid-required"))
        r = await self.owner.ask(self.iq("set", "<retract node='%s'/>" % n))
        self.emit("retract-item-required", "7.2.3.4", "delete-items", *judge_error(r, "modify", "bad-request", "item-required"))
        # pubsub#deliver_payloads = false: notifications without payload (§7.1.2.2).
        c = await self.configure(n, {"pubsub#deliver_payloads": "0"})
        since = len(self.sub.messages)
        await self.publish(self.owner, n, "nopayload1")
        m = await self.sub.wait_message(lambda m: m.find(".//%s[@id='nopayload1']" % q("item", EVENT)) is not None, since=since)
        self.emit("notification-without-payload", "7.1.2.2", "config-node", "yes" if is_result(c) and m is not None and m.find(".//{http://www.w3.org/2005/Atom}entry") is None else "no", describe(c))

        # pubsub#presence_based_delivery: only entities available to the service get notifications. The
        # subscriber makes itself available with directed presence; the other entity does not.
        pn = self.node("presence-delivery")
        c = await self.create(pn, {"pubsub#presence_based_delivery": "1"})
        await self.subscribe(self.sub, pn)
        await self.subscribe(self.other, pn)
        self.sub.send_raw("<presence to='%s'/>" % self.svc)
        await asyncio.sleep(0.3)
        since_s, since_o = len(self.sub.messages), len(self.other.messages)
        await self.publish(self.owner, pn, "while-present")
        got_s = await self.sub.wait_message(lambda m: m.find(".//%s[@id='while-present']" % q("item", EVENT)) is not None, since=since_s)
        got_o = await self.other.wait_message(lambda m: m.find(".//%s[@id='while-present']" % q("item", EVENT)) is not None, timeout=1.5, since=since_o)
        self.emit("presence-based-delivery", "16.4.4", "presence-notifications", "yes" if is_result(c) and got_s is not None and got_o is None else "no", "%s; available got %s, unavailable got %s" % (describe(c), got_s is not None, got_o is not None))
        self.sub.send_raw("<presence to='%s' type='unavailable'/>" % self.svc)
        await asyncio.sleep(0.2)

    # ---- §8 owner use cases ----
    async def owner_cases(self):
        n = self.node("named")
        r = await self.create(n)
        self.emit("create-named", "8.1.1", "create-nodes", "yes" if is_result(r) else "no", describe(r))
        r = await self.create(n)
        self.emit("create-conflict", "8.1.3.2", "create-nodes", *judge_error(r, "cancel", "conflict"))
        r = await self.other.ask(self.iq("set", "<create node='%s'/>" % self.node("not-mine")))
        self.emit("create-forbidden", "8.1.3.1", "create-nodes", *judge_error(r, "auth", "forbidden"))
        r = await self.owner.ask(self.iq("set", "<create/>"))
        c = r.find("%s/%s" % (q("pubsub", PUBSUB), q("create", PUBSUB))) if is_result(r) else None
        self.emit("create-instant", "8.1.2", "instant-nodes", "yes" if c is not None and c.get("node") else "no", describe(r))
        cc = self.node("configured")
        r = await self.create(cc, {"pubsub#title": "Princely Musings (Atom)", "pubsub#max_items": "10"})
        self.emit("create-and-configure", "8.1.3", "create-and-configure", "yes" if is_result(r) else "no", describe(r))
        # §8.2 configure.
        r = await self.owner.ask(self.iq("get", "<configure node='%s'/>" % cc, OWNER))
        x = r.find("%s/%s/%s" % (q("pubsub", OWNER), q("configure", OWNER), q("x", DATA))) if is_result(r) else None
        self.emit("configure-form", "8.2.1", "config-node", "yes" if field(x, "FORM_TYPE") == PUBSUB + "#node_config" and field(x, "pubsub#title") == "Princely Musings (Atom)" else "partial" if x is not None else "no", describe(r))
        r = await self.other.ask(self.iq("get", "<configure node='%s'/>" % cc, OWNER))
        self.emit("configure-forbidden", "8.2.3.2", "config-node", *judge_error(r, "auth", "forbidden"))
        r = await self.owner.ask(self.iq("get", "<configure/>", OWNER))
        self.emit("configure-nodeid-required", "8.2.3.3", "config-node", *judge_error(r, "modify", "bad-request", "nodeid-required"))
        r = await self.owner.ask(self.iq("get", "<configure node='%s'/>" % self.node("nonexistent"), OWNER))
        self.emit("configure-no-node", "8.2.3.5", "config-node", *judge_error(r, "cancel", "item-not-found"))
        r = await self.configure(cc, {"pubsub#max_items": "2"})
        for i in range(4):
            await self.publish(self.owner, cc, "cfg%d" % i)
        g = await self.sub.ask(self.iq("get", "<items node='%s'/>" % cc))
        got = [i.get("id") for i in g.findall("%s/%s/%s" % (q("pubsub", PUBSUB), q("items", PUBSUB), q("item", PUBSUB)))] if is_result(g) else []
        self.emit("configure-submit-applies", "8.2.5", "config-node", "yes" if is_result(r) and got == ["cfg2", "cfg3"] else "partial" if is_result(r) else "no", "%s; items %s" % (describe(r), " ".join(got)))
        r = await self.owner.ask(self.iq("set", "<configure node='%s'><x xmlns='jabber:x:data' type='cancel'/></configure>" % cc, OWNER))
        self.emit("configure-cancel", "8.2.5", "config-node", "yes" if is_result(r) else "no", describe(r))
        r = await self.owner.ask(self.iq("get", "<default/>", OWNER))
        x = r.find("%s/%s/%s" % (q("pubsub", OWNER), q("default", OWNER), q("x", DATA))) if is_result(r) else None
        self.emit("default-configuration", "8.3", "retrieve-default", "yes" if field(x, "FORM_TYPE") == PUBSUB + "#node_config" else "no", describe(r))
        # §8.5 purge.
        await self.subscribe(self.sub, cc)
        await asyncio.sleep(0.2)
        since = len(self.sub.messages)
        r = await self.owner.ask(self.iq("set", "<purge node='%s'/>" % cc, OWNER))
        m = await self.sub.wait_message(lambda m: m.find(".//%s" % q("purge", EVENT)) is not None, since=since)
        self.emit("purge", "8.5", "purge-nodes", "yes" if is_result(r) and m is not None else "partial" if is_result(r) else "no", describe(r) + (" + event" if m is not None else " no event"))
        r = await self.other.ask(self.iq("set", "<purge node='%s'/>" % cc, OWNER))
        self.emit("purge-forbidden", "8.5.3.2", "purge-nodes", *judge_error(r, "auth", "forbidden"))
        # §8.6 approve the pending subscription from §6.1.4.
        au, since_owner = self.authorize
        m = await self.owner.wait_message(lambda m: field(m.find(q("x", DATA)), "FORM_TYPE") == PUBSUB + "#subscribe_authorization", since=since_owner)
        if m is None:
            self.emit("approve-subscription", "8.6", "access-authorize", "no", "no approval request to the owner")
        else:
            since = len(self.other.messages)
            fields = {"pubsub#node": au, "pubsub#subscriber_jid": self.other.boundjid.bare, "pubsub#allow": "true"}
            subid = field(m.find(q("x", DATA)), "pubsub#subid")
            if subid:
                fields["pubsub#subid"] = subid
            self.owner.send_raw("<message to='%s' id='%s'>%s</message>" % (self.svc, m.get("id"), form_xml(PUBSUB + "#subscribe_authorization", fields)))
            note = await self.other.wait_message(lambda m: m.find(".//%s" % q("subscription", EVENT)) is not None, since=since)
            r = await self.other.ask(self.iq("get", "<subscriptions node='%s'/>" % au))
            s = r.find("%s/%s/%s" % (q("pubsub", PUBSUB), q("subscriptions", PUBSUB), q("subscription", PUBSUB))) if is_result(r) else None
            subscribed = s is not None and s.get("subscription") == "subscribed"
            self.emit("approve-subscription", "8.6", "access-authorize", "yes" if subscribed and note is not None else "partial" if subscribed else "no", "subscribed" if subscribed else describe(r))
        # §8.8 subscriptions.
        r = await self.owner.ask(self.iq("get", "<subscriptions node='%s'/>" % cc, OWNER))
        subs = r.findall("%s/%s/%s" % (q("pubsub", OWNER), q("subscriptions", OWNER), q("subscription", OWNER))) if is_result(r) else []
        self.emit("owner-subscriptions", "8.8.1", "manage-subscriptions", "yes" if any(s.get("jid", "").startswith(self.sub.boundjid.bare) for s in subs) else "no", describe(r))
        r = await self.other.ask(self.iq("get", "<subscriptions node='%s'/>" % cc, OWNER))
        self.emit("owner-subscriptions-forbidden", "8.8.1.3", "manage-subscriptions", *judge_error(r, "auth", "forbidden"))
        since = len(self.other.messages)
        r = await self.owner.ask(self.iq("set", "<subscriptions node='%s'><subscription jid='%s' subscription='subscribed'/></subscriptions>" % (cc, self.other.boundjid.bare), OWNER))
        note = await self.other.wait_message(lambda m: m.find(".//%s" % q("subscription", EVENT)) is not None, since=since)
        self.emit("subscription-state-notification", "8.8.4", "subscription-notifications", "yes" if is_result(r) and note is not None and note.find(".//%s" % q("subscription", EVENT)).get("subscription") == "subscribed" else "no", describe(r))
        chk = await self.owner.ask(self.iq("get", "<subscriptions node='%s'/>" % cc, OWNER))
        subs = chk.findall("%s/%s/%s" % (q("pubsub", OWNER), q("subscriptions", OWNER), q("subscription", OWNER))) if is_result(chk) else []
        self.emit("owner-modify-subscriptions", "8.8.2", "manage-subscriptions", "yes" if is_result(r) and any(s.get("jid") == self.other.boundjid.bare for s in subs) else "no", describe(r))
        r = await self.owner.ask(self.iq("set", "<subscriptions node='%s'><subscription jid='%s' subscription='none'/></subscriptions>" % (cc, self.other.boundjid.bare), OWNER))
        self.emit("owner-delete-subscriber", "8.8.3", "manage-subscriptions", "yes" if is_result(r) else "no", describe(r))
        # §8.9 affiliations.
        r = await self.owner.ask(self.iq("get", "<affiliations node='%s'/>" % cc, OWNER))
        affs = r.findall("%s/%s/%s" % (q("pubsub", OWNER), q("affiliations", OWNER), q("affiliation", OWNER))) if is_result(r) else []
        self.emit("owner-affiliations", "8.9.1", "modify-affiliations", "yes" if any(a.get("affiliation") == "owner" for a in affs) else "no", describe(r))
        r = await self.other.ask(self.iq("get", "<affiliations node='%s'/>" % cc, OWNER))
        self.emit("owner-affiliations-forbidden", "8.9.1.3", "modify-affiliations", *judge_error(r, "auth", "forbidden"))
        other = self.other.boundjid.bare
        r = await self.owner.ask(self.iq("set", "<affiliations node='%s'><affiliation jid='%s' affiliation='publisher'/></affiliations>" % (cc, other), OWNER))
        p = await self.publish(self.other, cc, "by-new-publisher")
        self.emit("modify-affiliation-publisher", "8.9.2", "publisher-affiliation", "yes" if is_result(r) and is_result(p) else "no", describe(r) + "/" + describe(p))
        wl = self.node("wl")
        r = await self.owner.ask(self.iq("set", "<affiliations node='%s'><affiliation jid='%s' affiliation='member'/></affiliations>" % (wl, other), OWNER))
        s = await self.subscribe(self.other, wl)
        self.emit("modify-affiliation-member", "8.9.2", "member-affiliation", "yes" if is_result(r) and is_result(s) else "no", describe(r) + "/" + describe(s))
        r = await self.owner.ask(self.iq("set", "<affiliations node='%s'><affiliation jid='%s' affiliation='outcast'/></affiliations>" % (self.main, other), OWNER))
        s = await self.subscribe(self.other, self.main)
        self.emit("modify-affiliation-outcast", "8.9.2", "outcast-affiliation", "yes" if is_result(r) and error_of(s) is not None and error_of(s).find(q("forbidden", STANZAS)) is not None else "no", describe(r) + "/" + describe(s))
        r = await self.other.ask(self.iq("set", "<affiliations node='%s'><affiliation jid='%s' affiliation='owner'/></affiliations>" % (cc, other), OWNER))
        self.emit("modify-affiliations-forbidden", "8.9.2.4.3", "modify-affiliations", *judge_error(r, "auth", "forbidden"))
        # §8.4 delete, last: the subscriber of `cc` gets the delete event.
        r = await self.other.ask(self.iq("set", "<delete node='%s'/>" % cc, OWNER))
        self.emit("delete-forbidden", "8.4.3.1", "delete-nodes", *judge_error(r, "auth", "forbidden"))
        since = len(self.sub.messages)
        r = await self.owner.ask(self.iq("set", "<delete node='%s'/>" % cc, OWNER))
        m = await self.sub.wait_message(lambda m: m.find(".//%s" % q("delete", EVENT)) is not None, since=since)
        self.emit("delete", "8.4", "delete-nodes", "yes" if is_result(r) and m is not None else "partial" if is_result(r) else "no", describe(r) + (" + event" if m is not None else " no event"))
        r = await self.owner.ask(self.iq("set", "<delete node='%s'/>" % cc, OWNER))
        self.emit("delete-no-node", "8.4.3.2", "delete-nodes", *judge_error(r, "cancel", "item-not-found"))


async def main():
    address, service, oj, op, sj, sp, xj, xp = sys.argv[1:9]
    host, port = address.split(":")
    accounts = [Account(oj, op), Account(sj, sp), Account(xj, xp)]
    for a in accounts:
        a.enable_starttls = False
        a.enable_direct_tls = False
        a.enable_plaintext = True
        a["feature_mechanisms"].unencrypted_plain = True
        a.connect((host, int(port)))
    await asyncio.wait_for(asyncio.gather(*(a.ready for a in accounts)), 20)
    # The subscriber subscribes to the owner's presence (RFC 6121 §3.1; slixmpp approves it), for the presence
    # access model (XEP-0060 §4.5): the owner's roster then has the subscriber with subscription 'from'.
    owner, sub = accounts[0], accounts[1]
    sub.send_presence(pto=owner.boundjid.bare, ptype="subscribe")
    await asyncio.sleep(1.0)
    try:
        await Conformance(service, *accounts).run()
    finally:
        for a in accounts:
            a.disconnect()
        await asyncio.sleep(0.3)


if __name__ == "__main__":
    asyncio.get_event_loop().run_until_complete(asyncio.wait_for(main(), 400))
