// A text area for PEM material that shows what was parsed (subject, issuer, validity) or
// why it cannot be used, checked by the broker (POST /check-pem) as it is pasted.
import { html, useEffect, useState } from './vendor/preact-htm.js';
import { post } from './api.js';
import { Field, fmtDate, useDebounced } from './ui.js';

export function describeCert(c) {
  const who = c.common_name ? `CN=${c.common_name}` : c.subject;
  const validity = c.expired ? `expired ${fmtDate(c.not_after)}` : c.not_yet_valid ? `not valid before ${fmtDate(c.not_before)}` : `valid until ${fmtDate(c.not_after)}`;
  return `${who}${c.is_ca ? ' (CA)' : ''}, issued by ${c.issuer}, ${validity}`;
}

// kind: "certificate" | "ca" | "private_key"; pairWith: the certificate text a key is
// checked against (empty: the one already in use, checked on apply).
export function PemField({ label, help, error, value, onInput, name, kind, current, pairWith, placeholder }) {
  const settled = useDebounced(value, 400);
  const [check, setCheck] = useState(null);
  useEffect(() => {
    let live = true;
    const text = (settled || '').trim();
    if (!text) { setCheck(null); return; }
    let body;
    if (kind === 'private_key') {
      if (!(pairWith || '').trim()) { setCheck({ info: 'Checked against the certificate in use when you apply.' }); return; }
      body = { certificate: pairWith, private_key: text };
    } else {
      body = { [kind]: text };
    }
    setCheck({ busy: true });
    post('/check-pem', body).then((r) => {
      if (!live) return;
      const part = r[kind];
      if (!part) setCheck(null);
      else if (part.error) setCheck({ error: part.error });
      else if (part.certificates) setCheck({ ok: part.certificates.map(describeCert), warn: part.certificates.some((c) => c.expired || c.not_yet_valid) });
      else setCheck({ ok: [part.message || 'OK'] });
    }).catch((e) => live && setCheck({ error: e.message }));
    return () => { live = false; };
  }, [settled, kind === 'private_key' ? pairWith : '']);

  return html`<${Field} label=${label} help=${help} error=${error} name=${name}>
    ${current ? html`<span class="current">In use: ${current}</span>` : null}
    <textarea name=${name} rows="5" class="mono pem" spellcheck="false" value=${value}
      placeholder=${placeholder || (current ? 'Paste a new one to replace it (PEM)' : '-----BEGIN ...-----')}
      aria-invalid=${error || (check && check.error) ? 'true' : undefined}
      onInput=${(e) => onInput(e.target.value)}></textarea>
    ${check && check.busy ? html`<small class="pem-check" aria-busy="true">checking…</small>` : null}
    ${check && check.error && !error ? html`<small class="pem-check bad-text" data-pem="error">✗ ${check.error}</small>` : null}
    ${check && check.info ? html`<small class="pem-check muted">${check.info}</small>` : null}
    ${check && check.ok ? html`<small class=${`pem-check ${check.warn ? 'warn-text' : 'good-text'}`} data-pem="ok">
      ${check.ok.map((t) => html`<span>✓ ${t}</span>`)}</small>` : null}
  <//>`;
}
