// The pre-shared key field with its Generate button (32 random bytes from the broker).
import { html, useState } from '../vendor/preact-htm.js';
import { get } from '../api.js';
import { Field } from '../ui.js';

export function PskKeyField({ name, label, value, onInput, error, isSet }) {
  const [busy, setBusy] = useState(false);
  const [genError, setGenError] = useState(null);
  const generate = async () => {
    setBusy(true);
    setGenError(null);
    try {
      const r = await get('/psk/generate');
      onInput(r.key);
    } catch (e) {
      setGenError(e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Field} name=${name} label=${label} error=${error || genError}
    help=${isSet ? 'A key is set; leave empty to keep it. Hex digits, e.g. from openssl rand -hex 32, or Generate.'
      : 'Hex digits, e.g. from openssl rand -hex 32, or Generate. Copy it to the clients before applying.'}>
    <div class="with-button">
      <input name=${name} class="mono" value=${value} spellcheck="false" autocomplete="off"
        placeholder=${isSet ? 'unchanged' : ''} aria-invalid=${error ? 'true' : undefined}
        onInput=${(e) => onInput(e.target.value)} />
      <button type="button" class="secondary" id=${`${name}-generate`} aria-busy=${busy ? 'true' : undefined} onClick=${generate}>Generate</button>
    </div>
  <//>`;
}
