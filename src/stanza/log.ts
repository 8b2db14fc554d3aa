import { cloneElement, type Element } from "./xml.js";

/**
 * A stanza as it may appear in a log line at info and above: message bodies, subjects and
 * data-form values are replaced by their length, so conversations never land in logs.
 */
export function stanzaForLog(stanza: Element): string {
  const copy = cloneElement(stanza);
  const hide = (el: Element) => {
    for (const child of el.getChildElements()) {
      if (child.name === "body" || child.name === "subject" || child.name === "value") {
        const length = child.getText().length;
        child.children = [`[redacted ${length} chars]`];
      } else hide(child);
    }
  };
  hide(copy);
  return copy.toString();
}
