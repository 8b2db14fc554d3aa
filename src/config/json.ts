// Where a config file stops being JSON. JSON.parse says "at position 2" on some inputs and nothing at all on
// others (Node 20: `Unexpected token '}', "…" is not valid JSON`), so after a failed parse this small scanner
// of the RFC 8259 grammar finds the first offending character itself and says, in an editor's terms
// (line and column, both from 1), what was expected there.

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  /** What is wrong at that place, with the fix for the usual slips (comments, trailing commas, quotes). */
  message: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  let i = 0;
  /** The comma before a closing bracket, where a trailing-comma error points. */
  let lastComma = 0;
  const fail = (message: string, at = i): never => {
    throw new Stop(at, message);
  };
  const describe = (at: number): string => {
    if (at >= text.length) return "the end of the file";
    const c = text[at] as string;
    return c === "\n" ? "the end of the line" : JSON.stringify(c);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) fail("comments are not allowed in JSON: remove it");
      else return;
    }
  };
  const value = (): void => {
    skipSpace();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "'") fail("strings take double quotes in JSON, not single quotes");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(`expected a value (a string, number, object, array, true, false or null), found ${describe(i)}`);
  };
  const object = (): void => {
    i++; // {
    skipSpace();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      skipSpace();
      if (text[i] === "}") fail("a trailing comma is not allowed in JSON: remove the comma before }", lastComma);
      if (text[i] === "'") fail("property names take double quotes in JSON, not single quotes");
      if (text[i] !== '"') fail(text[i] !== undefined && /[A-Za-z_$]/.test(text[i] as string) ? "property names take double quotes in JSON" : `expected a property name in double quotes, found ${describe(i)}`);
      string();
      skipSpace();
      if (text[i] !== ":") fail(`expected ":" after the property name, found ${describe(i)}`);
      i++;
      value();
      skipSpace();
      if (text[i] === "}") {
        i++;
        return;
      }
      if (text[i] !== ",") fail(`expected "," or "}" after a property value, found ${describe(i)}`);
      lastComma = i;
      i++;
    }
  };
  const array = (): void => {
    i++; // [
    skipSpace();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      skipSpace();
      if (text[i] === "]") fail("a trailing comma is not allowed in JSON: remove the comma before ]", lastComma);
      value();
      skipSpace();
      if (text[i] === "]") {
        i++;
        return;
      }
      if (text[i] !== ",") fail(`expected "," or "]" after an array element, found ${describe(i)}`);
      lastComma = i;
      i++;
    }
  };
  const string = (): void => {
    const start = i;
    i++; // "
    for (;;) {
      const c = text[i];
      if (c === undefined || c === "\n") fail("this string is not closed: add the closing double quote", start);
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("\\u takes four hex digits");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`${JSON.stringify(`\\${e ?? ""}`)} is not a JSON escape (use \\\\ for a backslash)`);
        continue;
      }
      if ((c as string) < " ") fail("control characters must be escaped inside JSON strings (e.g. \\t for a tab)");
      i++;
    }
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail(`not a JSON number at ${describe(i)}`);
    i += (match as RegExpExecArray)[0].length;
  };

  try {
    value();
    skipSpace();
    if (i < text.length) fail(`expected the end of the file after the top-level value, found ${describe(i)}`);
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    const before = text.slice(0, err.offset);
    const line = before.split("\n").length;
    const column = err.offset - (before.lastIndexOf("\n") + 1) + 1;
    return { line, column, message: err.message };
  }
}
