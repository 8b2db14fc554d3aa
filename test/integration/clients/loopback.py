"""What every slixmpp test client does: connect to the private test Prosody and run until done."""
import asyncio


def run_on_loopback(xmpp, address, timeout):
    """Connects `xmpp` to host:port without TLS (the loopback test server has no certificates, and
    allows PLAIN), then runs until it disconnects. Returns False if `timeout` seconds passed first."""
    host, port = address.split(":")
    xmpp.enable_starttls = False
    xmpp.enable_direct_tls = False
    xmpp.enable_plaintext = True
    xmpp["feature_mechanisms"].unencrypted_plain = True
    xmpp.connect((host, int(port)))
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.wait_for(xmpp.disconnected, timeout=timeout))
        return True
    except asyncio.TimeoutError:
        return False
