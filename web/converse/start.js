// Converse.js (https://conversejs.org) set up for the Annex demo: the WebSocket on this page's own origin
// (RFC 7395, Prosody's mod_websocket), accounts on the server's domain, and chats with addresses outside
// the roster allowed (the components: bot@echo.localhost, bot@directory.localhost).
// Query parameters: ?domain= (default localhost), ?ws= (default ws[s]://<this host>/xmpp-websocket).
const params = new URLSearchParams(location.search);
const domain = params.get("domain") ?? "localhost";
const scheme = location.protocol === "https:" ? "wss:" : "ws:";

converse.initialize({
  // Converse loads its fonts, sounds, emoji and translations from here (next to this page).
  assets_path: new URL("dist/", location.href).pathname,
  websocket_url: params.get("ws") ?? `${scheme}//${location.host}/xmpp-websocket`,
  // No host-meta lookup (XEP-0156): the endpoint is the one above.
  discover_connection_methods: false,
  authentication: "login",
  // "demo" alone means demo@localhost.
  default_domain: domain,
  allow_non_roster_messaging: true,
  // The components do not do end-to-end encryption (XEP-0384): without OMEMO, Converse does not ask each
  // bot for its OMEMO device list (a PEP query a component answers with service-unavailable).
  blacklisted_plugins: ["converse-omemo", "converse-omemo-views"],
  view_mode: "fullscreen",
  i18n: "en",
  play_sounds: false,
  show_client_info: false,
  loglevel: "warn",
});
