// RFC 8785 (JSON Canonicalization Scheme) for the JSON the ledger signs.
//
// The statements of this ledger contain objects, arrays, strings, integers,
// booleans and null, never floats. For that subset RFC 8785 is: object members
// sorted by their keys' UTF-16 code units (what Array.prototype.sort does with
// strings), no whitespace, strings and integers exactly as JSON.stringify
// writes them (RFC 8785 §3.2.2 takes its string escaping from ECMAScript).
// Anything else (a float, an unsafe integer, undefined, a function) is refused
// rather than silently written differently from the Python side
// (ledger/canonical.py); tests/test_browser_jcs.py compares the two.

export function canonicalize(value) {
  if (value === null || typeof value === "boolean") {
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`JCS subset: only safe integers, not ${value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return "[" + value.map(canonicalize).join(",") + "]";
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new TypeError(`JCS subset: cannot canonicalize a ${typeof value}`);
}

export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
