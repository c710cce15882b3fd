import type { FieldSpec, FormErrors, FormValue } from "../forms/schema";

interface Props {
  field: FieldSpec;
  value: FormValue;
  errors: FormErrors;
  onChange: (path: string[], value: FormValue) => void;
  /** Prefix for element ids, so two forms on a page do not clash. */
  idPrefix: string;
  path?: string[];
}

function describedBy(id: string, hasHint: boolean, hasError: boolean): string | undefined {
  const ids = [hasHint ? `${id}-hint` : "", hasError ? `${id}-error` : ""].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

/** Inputs for a field tree built by `fieldFromSchema`, with labels, hints and errors tied to each input. */
export function SchemaForm({ field, value, errors, onChange, idPrefix, path = [] }: Props) {
  const id = `${idPrefix}-${field.path || "root"}`.replace(/[^a-zA-Z0-9_-]/g, "-");
  const error = errors[field.path || "$"];
  const hint = field.description;
  const common = {
    id,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy(id, !!hint, !!error),
    "aria-required": field.required || undefined,
  } as const;
  const labelText = (
    <>
      {field.label}
      {field.required ? <span aria-hidden="true"> *</span> : <span className="muted"> (optional)</span>}
    </>
  );
  const hintEl = hint ? (
    <span className="hint" id={`${id}-hint`}>
      {hint}
    </span>
  ) : null;
  const errorEl = error ? (
    <span className="error" id={`${id}-error`}>
      {error}
    </span>
  ) : null;

  switch (field.kind) {
    case "object": {
      const obj = (typeof value === "object" && !Array.isArray(value) ? value : {}) as Record<string, FormValue>;
      const inner = field.fields.map((f) => (
        <SchemaForm key={f.name} field={f} value={obj[f.name] ?? ""} errors={errors} onChange={onChange} idPrefix={idPrefix} path={[...path, f.name]} />
      ));
      if (path.length === 0) {
        return field.fields.length ? <>{inner}</> : <p className="muted">This tool takes no arguments.</p>;
      }
      return (
        <fieldset>
          <legend>{labelText}</legend>
          {hintEl}
          {inner}
        </fieldset>
      );
    }
    case "boolean":
      return (
        <div className="field">
          <label className="checkbox">
            <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(path, e.target.checked)} />
            {field.label}
          </label>
          {hintEl}
          {errorEl}
        </div>
      );
    case "enum":
      return (
        <div className="field">
          <label htmlFor={id}>{labelText}</label>
          {hintEl}
          <select {...common} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(path, e.target.value)}>
            <option value="">{field.required ? "Choose…" : "(none)"}</option>
            {field.options.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
          {errorEl}
        </div>
      );
    case "number":
    case "integer":
      return (
        <div className="field">
          <label htmlFor={id}>{labelText}</label>
          {hintEl}
          <input
            {...common}
            type="text"
            inputMode={field.kind === "integer" ? "numeric" : "decimal"}
            value={typeof value === "string" ? value : ""}
            onChange={(e) => onChange(path, e.target.value)}
          />
          {errorEl}
        </div>
      );
    case "string_array": {
      const items = Array.isArray(value) ? value : [];
      return (
        <fieldset aria-describedby={describedBy(id, !!hint, !!error)}>
          <legend>{labelText}</legend>
          {hintEl}
          {items.map((item, i) => (
            <div className="array-item" key={i}>
              <label className="visually-hidden" htmlFor={`${id}-${i}`}>
                {field.label} item {i + 1}
              </label>
              <input
                id={`${id}-${i}`}
                type="text"
                value={item}
                onChange={(e) => onChange(path, items.map((v, j) => (j === i ? e.target.value : v)))}
              />
              <button type="button" className="button secondary small" onClick={() => onChange(path, items.filter((_, j) => j !== i))}>
                Remove<span className="visually-hidden"> item {i + 1}</span>
              </button>
            </div>
          ))}
          <button type="button" className="button secondary small" onClick={() => onChange(path, [...items, ""])}>
            Add item
          </button>
          {errorEl ? <div>{errorEl}</div> : null}
        </fieldset>
      );
    }
    case "json":
      return (
        <div className="field">
          <label htmlFor={id}>
            {labelText} <span className="muted">(JSON)</span>
          </label>
          {hintEl}
          <textarea {...common} className="code" rows={4} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(path, e.target.value)} />
          {errorEl}
        </div>
      );
    case "string": {
      const long = (field.maxLength ?? 0) > 200 || /text|content|answer|explanation|markdown/i.test(field.name);
      return (
        <div className="field">
          <label htmlFor={id}>{labelText}</label>
          {hintEl}
          {long ? (
            <textarea {...common} rows={3} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(path, e.target.value)} />
          ) : (
            <input {...common} type="text" value={typeof value === "string" ? value : ""} onChange={(e) => onChange(path, e.target.value)} />
          )}
          {errorEl}
        </div>
      );
    }
  }
}
