import { StanzaError } from "./errors.js";
import { NS } from "./namespaces.js";
import { type Element, xml } from "./xml.js";

// XEP-0004 data forms.

/** XEP-0004 §3.3 field types. */
export type FieldType =
  | "boolean"
  | "fixed"
  | "hidden"
  | "jid-multi"
  | "jid-single"
  | "list-multi"
  | "list-single"
  | "text-multi"
  | "text-private"
  | "text-single";

export type FormType = "form" | "submit" | "cancel" | "result";

export interface FormField {
  var?: string;
  type?: FieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  values?: string[];
  options?: { label?: string; value: string }[];
}

export interface DataForm {
  type: FormType;
  title?: string;
  instructions?: string[];
  fields: FormField[];
}

const FORM_TYPES = new Set<string>(["form", "submit", "cancel", "result"]);

export function buildForm(form: DataForm): Element {
  return xml(
    "x",
    { xmlns: NS.dataForms, type: form.type },
    form.title === undefined ? null : xml("title", {}, form.title),
    (form.instructions ?? []).map((i) => xml("instructions", {}, i)),
    form.fields.map((f) =>
      xml(
        "field",
        { var: f.var, type: f.type, label: f.label },
        f.desc === undefined ? null : xml("desc", {}, f.desc),
        f.required ? xml("required") : null,
        (f.values ?? []).map((v) => xml("value", {}, v)),
        (f.options ?? []).map((o) => xml("option", { label: o.label }, xml("value", {}, o.value))),
      ),
    ),
  );
}

/** Parses an `<x xmlns='jabber:x:data'/>`; a malformed form is a bad-request (XEP-0004 §3.1). */
export function parseForm(el: Element): DataForm {
  if (el.name !== "x" || el.getNS() !== NS.dataForms) throw new StanzaError("bad-request", "expected a jabber:x:data form");
  const type = el.attrs.type as string | undefined;
  if (!type || !FORM_TYPES.has(type)) throw new StanzaError("bad-request", `data form type must be form, submit, cancel or result, not ${JSON.stringify(type ?? "")}`);
  const fields = el.getChildren("field").map((f): FormField => {
    const fieldType = f.attrs.type as FieldType | undefined;
    if (fieldType !== "fixed" && !f.attrs.var && type !== "result") throw new StanzaError("bad-request", "a data form field other than fixed needs a var");
    return {
      var: f.attrs.var as string | undefined,
      type: fieldType,
      label: f.attrs.label as string | undefined,
      desc: f.getChildText("desc") ?? undefined,
      values: f.getChildren("value").map((v) => v.getText()),
      options: f.getChildren("option").map((o) => ({ label: o.attrs.label as string | undefined, value: o.getChildText("value") ?? "" })),
      required: f.getChild("required") !== undefined,
    };
  });
  return {
    type: type as FormType,
    title: el.getChildText("title") ?? undefined,
    instructions: el.getChildren("instructions").map((i) => i.getText()),
    fields,
  };
}

/** The values of each field by var. */
export function formValues(form: DataForm): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of form.fields) if (f.var) out[f.var] = f.values ?? [];
  return out;
}

/** XEP-0068: the FORM_TYPE hidden field, which names the form's namespace. */
export function formType(form: DataForm): string | undefined {
  return form.fields.find((f) => f.var === "FORM_TYPE")?.values?.[0];
}

/** XEP-0004 §3.3: a boolean field's value is "1"/"true" or "0"/"false". */
export function parseBoolean(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  throw new StanzaError("bad-request", `field ${field} must be a boolean (1/0/true/false), not ${JSON.stringify(value)}`);
}
