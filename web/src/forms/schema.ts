// A form model generated from a tool's JSON Schema (the `parameters` of a
// `tool-spec`), so an author can call any tool from the playground.
//
// Supported: strings (with enum, minLength, maxLength, pattern), numbers and
// integers (minimum, maximum), booleans, arrays of strings (minItems, maxItems),
// nested objects, `required`. Anything else is edited as raw JSON, so no tool
// is ever impossible to call.

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum" | "string_array" | "object" | "json";

export interface FieldSpec {
  kind: FieldKind;
  /** Property name (empty for the root). */
  name: string;
  /** Dotted path used as the field's id and the key of its error. */
  path: string;
  label: string;
  description: string;
  required: boolean;
  options: string[];
  minimum: number | null;
  maximum: number | null;
  minLength: number | null;
  maxLength: number | null;
  pattern: string | null;
  minItems: number | null;
  maxItems: number | null;
  defaultValue: unknown;
  /** Object fields, in schema order. */
  fields: FieldSpec[];
}

/** The value a form holds: raw text for inputs, so half-typed numbers survive. */
export type FormValue = string | boolean | string[] | { [key: string]: FormValue };

export type FormErrors = Record<string, string>;

type Json = Record<string, unknown>;
function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function numOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function labelFor(name: string, schema: Json): string {
  if (typeof schema.title === "string" && schema.title) return schema.title;
  if (!name) return "Arguments";
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function schemaType(schema: Json): string | null {
  const t = schema.type;
  if (typeof t === "string") return t;
  // ["string", "null"]: the non-null type decides the widget.
  if (Array.isArray(t)) {
    const real = t.filter((x) => x !== "null");
    return real.length === 1 && typeof real[0] === "string" ? real[0] : null;
  }
  if (isObject(schema.properties)) return "object";
  if (Array.isArray(schema.enum)) return "string";
  return null;
}

/** Build the field tree. `schema` may be the parsed object or the JSON text of the tool spec. */
export function fieldFromSchema(schema: unknown, name = "", parentPath = "", required = false): FieldSpec {
  const s: Json = isObject(schema) ? schema : {};
  const path = parentPath ? `${parentPath}.${name}` : name;
  const base: FieldSpec = {
    kind: "json",
    name,
    path,
    label: labelFor(name, s),
    description: typeof s.description === "string" ? s.description : "",
    required,
    options: [],
    minimum: numOrNull(s.minimum),
    maximum: numOrNull(s.maximum),
    minLength: numOrNull(s.minLength),
    maxLength: numOrNull(s.maxLength),
    pattern: typeof s.pattern === "string" ? s.pattern : null,
    minItems: numOrNull(s.minItems),
    maxItems: numOrNull(s.maxItems),
    defaultValue: s.default,
    fields: [],
  };
  const type = schemaType(s);
  if (Array.isArray(s.enum) && s.enum.every((x) => typeof x === "string")) {
    return { ...base, kind: "enum", options: s.enum as string[] };
  }
  switch (type) {
    case "string":
      return { ...base, kind: "string" };
    case "number":
      return { ...base, kind: "number" };
    case "integer":
      return { ...base, kind: "integer" };
    case "boolean":
      return { ...base, kind: "boolean" };
    case "array": {
      const items = isObject(s.items) ? s.items : {};
      return schemaType(items) === "string" && !Array.isArray(items.enum) ? { ...base, kind: "string_array" } : base;
    }
    case "object": {
      const props = isObject(s.properties) ? s.properties : {};
      const req = new Set(Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === "string") : []);
      const fields = Object.entries(props).map(([key, sub]) => fieldFromSchema(sub, key, path, req.has(key)));
      return { ...base, kind: "object", fields };
    }
    default:
      return base;
  }
}

/** Parse a tool's `parameters` text; a broken schema becomes one raw-JSON field. */
export function fieldFromSchemaText(text: string): FieldSpec {
  try {
    return fieldFromSchema(JSON.parse(text));
  } catch {
    return fieldFromSchema({});
  }
}

/** The starting value of a field (schema defaults where given). */
export function initialValue(field: FieldSpec): FormValue {
  const d = field.defaultValue;
  switch (field.kind) {
    case "boolean":
      return typeof d === "boolean" ? d : false;
    case "string":
    case "enum":
      return typeof d === "string" ? d : "";
    case "number":
    case "integer":
      return typeof d === "number" ? String(d) : "";
    case "string_array":
      return Array.isArray(d) ? d.filter((x): x is string => typeof x === "string") : [];
    case "object": {
      const out: { [key: string]: FormValue } = {};
      for (const f of field.fields) out[f.name] = initialValue(f);
      return out;
    }
    case "json":
      return d === undefined ? "" : JSON.stringify(d, null, 2);
  }
}

function isEmpty(field: FieldSpec, value: FormValue | undefined): boolean {
  if (value === undefined) return true;
  switch (field.kind) {
    case "boolean":
      return false;
    case "string_array":
      return Array.isArray(value) && value.every((v) => v.trim() === "");
    case "object":
      return false;
    default:
      return typeof value === "string" && value.trim() === "";
  }
}

/** Every problem with `value`, keyed by field path; empty when the form can be sent. */
export function validate(field: FieldSpec, value: FormValue | undefined, errors: FormErrors = {}): FormErrors {
  if (isEmpty(field, value)) {
    if (field.required) errors[field.path] = `${field.label} is required.`;
    return errors;
  }
  switch (field.kind) {
    case "string": {
      const v = value as string;
      if (field.minLength !== null && v.length < field.minLength) {
        errors[field.path] = `${field.label} needs at least ${field.minLength} characters.`;
      } else if (field.maxLength !== null && v.length > field.maxLength) {
        errors[field.path] = `${field.label} can have at most ${field.maxLength} characters.`;
      } else if (field.pattern !== null) {
        try {
          if (!new RegExp(field.pattern, "u").test(v)) {
            errors[field.path] = `${field.label} must match the pattern ${field.pattern}.`;
          }
        } catch {
          // A pattern this browser cannot compile is left to the server's validation.
        }
      }
      break;
    }
    case "enum":
      if (!field.options.includes(value as string)) {
        errors[field.path] = `Choose one of: ${field.options.join(", ")}.`;
      }
      break;
    case "number":
    case "integer": {
      const raw = (value as string).trim();
      const n = Number(raw);
      if (!Number.isFinite(n)) {
        errors[field.path] = `${field.label} must be a number.`;
      } else if (field.kind === "integer" && !Number.isInteger(n)) {
        errors[field.path] = `${field.label} must be a whole number.`;
      } else if (field.minimum !== null && n < field.minimum) {
        errors[field.path] = `${field.label} must be at least ${field.minimum}.`;
      } else if (field.maximum !== null && n > field.maximum) {
        errors[field.path] = `${field.label} must be at most ${field.maximum}.`;
      }
      break;
    }
    case "string_array": {
      const items = (value as string[]).filter((v) => v.trim() !== "");
      if (field.minItems !== null && items.length < field.minItems) {
        errors[field.path] = `${field.label} needs at least ${field.minItems} item${field.minItems === 1 ? "" : "s"}.`;
      } else if (field.maxItems !== null && items.length > field.maxItems) {
        errors[field.path] = `${field.label} can have at most ${field.maxItems} items.`;
      }
      break;
    }
    case "object": {
      const obj = value as { [key: string]: FormValue };
      for (const f of field.fields) validate(f, obj[f.name], errors);
      break;
    }
    case "json":
      try {
        JSON.parse(value as string);
      } catch {
        errors[field.path || "$"] = `${field.label} must be valid JSON.`;
      }
      break;
    case "boolean":
      break;
  }
  return errors;
}

/**
 * The arguments object to send. Call after `validate` returned no errors.
 * Empty optional fields are left out rather than sent as "" or 0.
 */
export function toArguments(field: FieldSpec, value: FormValue | undefined): unknown {
  if (isEmpty(field, value)) return undefined;
  switch (field.kind) {
    case "boolean":
      return value === true;
    case "string":
    case "enum":
      return value as string;
    case "number":
    case "integer":
      return Number((value as string).trim());
    case "string_array":
      return (value as string[]).filter((v) => v.trim() !== "");
    case "object": {
      const obj = value as { [key: string]: FormValue };
      const out: Record<string, unknown> = {};
      for (const f of field.fields) {
        const v = toArguments(f, obj[f.name]);
        if (v !== undefined) out[f.name] = v;
      }
      return out;
    }
    case "json":
      return JSON.parse(value as string);
  }
}

/** Set the value at `path` (relative to the root field) immutably. */
export function setAt(root: FormValue, path: string[], next: FormValue): FormValue {
  if (path.length === 0) return next;
  const [head, ...rest] = path;
  const obj = (typeof root === "object" && !Array.isArray(root) ? root : {}) as { [key: string]: FormValue };
  return { ...obj, [head!]: setAt(obj[head!] ?? "", rest, next) };
}
