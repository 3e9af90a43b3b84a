// Small pieces every page uses: form fields with help and errors, the report of an
// applied change, confirmation dialogs, badges and number formats.
import { html, useState, useEffect, useRef } from './vendor/preact-htm.js';

// ---- formats ----------------------------------------------------------------------------

export function fmtBytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtRate(n, unit) {
  if (n == null) return '–';
  if (unit === 'B') return `${fmtBytes(n)}/s`;
  return `${fmtNumber(n)}/s`;
}

export function fmtNumber(n) {
  if (n == null) return '–';
  return Number(n).toLocaleString('en-US');
}

export function fmtDuration(s) {
  if (s == null) return '–';
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h ${m} min`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

// Unix seconds as local date and time.
export function fmtTime(unixS) {
  if (!unixS) return '–';
  const d = new Date(unixS * 1000);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDate(unixS) {
  return unixS ? fmtTime(unixS).slice(0, 10) : '–';
}

// ---- form fields ------------------------------------------------------------------------

// A labelled field: the label, the control, its error (from the API) and its help text.
export function Field({ label, help, error, children, name, class: cls }) {
  return html`<div class=${`field ${cls || ''}`} data-field=${name}>
    <label>${label}${children}</label>
    ${error ? html`<small class="field-error" role="alert">${error}</small>` : null}
    ${help ? html`<small class="help">${help}</small>` : null}
  </div>`;
}

export function TextField({ label, help, error, value, onInput, name, type = 'text', placeholder, autocomplete, required, min, max, mono, inputmode }) {
  return html`<${Field} label=${label} help=${help} error=${error} name=${name}>
    <input type=${type} name=${name} value=${value ?? ''} placeholder=${placeholder}
      autocomplete=${autocomplete || 'off'} required=${required} min=${min} max=${max} inputmode=${inputmode}
      class=${mono ? 'mono' : undefined} spellcheck="false"
      aria-invalid=${error ? 'true' : undefined}
      onInput=${(e) => onInput(type === 'number' ? (e.target.value === '' ? '' : Number(e.target.value)) : e.target.value)} />
  <//>`;
}

export function SelectField({ label, help, error, value, onChange, name, options }) {
  return html`<${Field} label=${label} help=${help} error=${error} name=${name}>
    <select name=${name} value=${value} aria-invalid=${error ? 'true' : undefined}
      onChange=${(e) => onChange(e.target.value)}>
      ${options.map(([v, text]) => html`<option value=${v} selected=${String(v) === String(value)}>${text}</option>`)}
    </select>
  <//>`;
}

export function CheckField({ label, help, error, checked, onChange, name }) {
  return html`<div class="field check" data-field=${name}>
    <label><input type="checkbox" role="switch" name=${name} checked=${!!checked}
      onChange=${(e) => onChange(e.target.checked)} /> ${label}</label>
    ${error ? html`<small class="field-error" role="alert">${error}</small>` : null}
    ${help ? html`<small class="help">${help}</small>` : null}
  </div>`;
}

export function RadioField({ label, help, error, value, onChange, name, options }) {
  return html`<fieldset class="field radios" data-field=${name}>
    <legend>${label}</legend>
    <div class="radio-row">
      ${options.map(([v, text]) => html`<label>
        <input type="radio" name=${name} value=${v} checked=${v === value} onChange=${() => onChange(v)} /> ${text}
      </label>`)}
    </div>
    ${error ? html`<small class="field-error" role="alert">${error}</small>` : null}
    ${help ? html`<small class="help">${help}</small>` : null}
  </fieldset>`;
}

// ---- what an action did -------------------------------------------------------------------

function List({ title, items, cls }) {
  if (!items || !items.length) return null;
  return html`<div class=${`report-list ${cls || ''}`}><strong>${title}</strong>
    <ul>${items.map((x) => html`<li>${x}</li>`)}</ul></div>`;
}

// The answer to a change: the apply report (what changed, what restarted, what kept
// running, what waits for a restart), or why nothing changed.
// outcome: {ok: data} | {error: ApiError} | {note: text} | null
// labels: {field: "Label"} or field -> label, for the field errors of a 400.
export function Outcome({ outcome, onClose, labels }) {
  if (!outcome) return null;
  if (outcome.note) return html`<div class="notice info" role="status">${outcome.note}</div>`;
  if (outcome.ok) {
    const d = outcome.ok;
    const noChange = !d.changes || (d.changes.length === 0 && d.message === 'no change');
    return html`<div class="notice ok" role="status" id="outcome" data-outcome="ok">
      <p class="title">${noChange ? 'Nothing to save: the settings are as they were.' : 'Saved and applied.'}</p>
      ${d.message && !noChange && ![d.applied, d.kept, d.restart_required].some((l) => l && l.length) ? html`<p>${d.message}</p>` : null}
      <${List} title="Changed" items=${d.changes} />
      <${List} title="Applied" items=${d.applied} />
      <${List} title="Kept running" items=${d.kept} />
      <${List} title="Waits for a restart of petrel" items=${d.restart_required} cls="warn" />
      <${List} title="Warnings" items=${d.warnings} cls="warn" />
      ${d.config_file ? html`<p class="muted small">Written to ${d.config_file}.</p>` : null}
      ${onClose ? html`<button class="secondary outline small" onClick=${onClose}>Dismiss</button>` : null}
    </div>`;
  }
  const e = outcome.error;
  const label = (f) => (typeof labels === 'function' ? labels(f) : labels && labels[f]) || f;
  const fields = e.body && e.body.fields ? e.body.fields : [];
  let title = 'Not saved: nothing was changed.';
  if (e.status === 409 && e.body.rolled_back) title = 'Applying failed: the previous configuration is back and nothing was changed.';
  if (e.status === 0) title = 'The broker cannot be reached: nothing was changed.';
  return html`<div class="notice error" role="alert" id="outcome" data-outcome="error">
    <p class="title">${title}</p>
    ${e.status === 409 ? html`<p>${e.body.error || e.message}</p>`
      : fields.length ? html`<p>Correct the marked fields:</p><ul>${fields.map((f) => html`<li><b>${label(f.field)}</b>: ${f.message}</li>`)}</ul>`
      : html`<p>${e.message}</p>`}
    ${onClose ? html`<button class="secondary outline small" onClick=${onClose}>Dismiss</button>` : null}
  </div>`;
}

// ---- confirmation -----------------------------------------------------------------------

// A modal question (the browser's <dialog>). Renders nothing until asked.
// ask: {title, text, confirm, danger, extra: [label, default]} -> Promise<false | {extra}>
export function useConfirm() {
  const [q, setQ] = useState(null);
  const ref = useRef(null);
  useEffect(() => {
    if (q && ref.current && !ref.current.open) ref.current.showModal();
  }, [q]);
  const ask = (opts) => new Promise((resolve) => setQ({ ...opts, resolve, extraValue: opts.extra ? opts.extra[1] : false }));
  const close = (answer) => {
    if (ref.current && ref.current.open) ref.current.close();
    const r = q.resolve;
    setQ(null);
    r(answer ? { extra: q.extraValue } : false);
  };
  const dialog = q ? html`<dialog ref=${ref} class="confirm" onCancel=${(e) => { e.preventDefault(); close(false); }}>
    <article>
      <h3>${q.title}</h3>
      <p>${q.text}</p>
      ${q.extra ? html`<label class="extra"><input type="checkbox" checked=${q.extraValue}
        onChange=${(e) => setQ({ ...q, extraValue: e.target.checked })} /> ${q.extra[0]}</label>` : null}
      <footer>
        <button class="secondary" onClick=${() => close(false)}>Cancel</button>
        <button class=${q.danger ? 'danger' : ''} data-confirm="yes" onClick=${() => close(true)}>${q.confirm || 'OK'}</button>
      </footer>
    </article>
  </dialog>` : null;
  return [dialog, ask];
}

// ---- small things -----------------------------------------------------------------------

const STATE_CLASS = {
  connected: 'good', running: 'good', 'bridges-only': 'warn', connecting: 'warn', idle: 'muted',
  disconnected: 'bad', stopped: 'muted', disabled: 'muted', offline: 'muted', error: 'bad',
};

export function Badge({ state, text }) {
  return html`<span class=${`badge ${STATE_CLASS[state] || 'muted'}`} data-state=${state}>${text || state}</span>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

export function PageHeader({ title, intro, children }) {
  return html`<header class="page-header">
    <div><h1>${title}</h1>${intro ? html`<p class="intro">${intro}</p>` : null}</div>
    ${children ? html`<div class="actions">${children}</div>` : null}
  </header>`;
}

// Calls f every `ms` while the component is shown (and once at once).
export function useInterval(f, ms, deps = []) {
  const saved = useRef(f);
  saved.current = f;
  useEffect(() => {
    saved.current();
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, deps);
}

// A value that settles: the latest `value` once it stopped changing for `ms`.
export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
