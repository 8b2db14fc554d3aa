// Converse's fullscreen footer shows its sponsors' logos, loaded from conversejs.org. This page loads
// nothing from outside this server, so an empty element takes the footer's name first: Converse only
// defines an element whose name is still free (src/shared/registry.js).
customElements.define("converse-footer", class extends HTMLElement {});
