// Broker: the router product's Broker page. Enable, port, log level; TLS none / PSK /
// certificate; restrict for anonymous / username+password / certificate CN. Fields that
// do not apply to the chosen TLS mode or restriction are hidden and not sent. Secrets are
// write-only: an empty secret field keeps the one in use.
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { ApiError, get, put } from '../api.js';
import { CheckField, Outcome, PageHeader, RadioField, SelectField, TextField } from '../ui.js';
import { PemField, describeCert } from '../pem.js';
import { PskKeyField } from './psk.js';

const LABELS = {
  enabled: 'Enable MQTT Broker', port: 'TCP Port', address: 'Listen Address', log_level: 'Log Level',
  tls_mode: 'TLS Mode', tls: 'TLS', psk_identity: 'PSK Identity', psk_key: 'Pre-shared Key',
  certificate: 'Broker Certificate', private_key: 'Broker Private Key', client_ca: 'Client CA Certificate(s)',
  restrict: 'Restrict For', security: 'Access', username: 'Username', password: 'Password',
};

const LOG_LEVELS = [['none', 'None'], ['error', 'Error'], ['warning', 'Warning'], ['information', 'Information'], ['debug', 'Debug']];

function formOf(b) {
  const listen = b.local_only || b.address === 'local' ? 'local' : b.address ? 'address' : 'all';
  return {
    enabled: b.enabled,
    port: b.port ?? 1883,
    listen,
    address: listen === 'address' ? b.address : '',
    log_level: b.log_level,
    tls_mode: b.tls_mode,
    psk_identity: b.psk_identity || '',
    psk_key: '',
    certificate: '',
    private_key: '',
    client_ca: '',
    remove_client_ca: false,
    restrict: b.restrict,
    username: b.username || '',
    password: '',
  };
}

// What to send: what applies to the chosen modes, and of that, what was changed or must
// be given again.
function bodyOf(f, loaded) {
  const start = formOf(loaded);
  const body = { enabled: f.enabled, tls_mode: f.tls_mode, restrict: f.restrict };
  if (f.log_level !== start.log_level) body.log_level = f.log_level;
  const address = f.listen === 'local' ? 'local' : f.listen === 'all' ? '' : f.address.trim();
  const startAddress = start.listen === 'local' ? 'local' : start.listen === 'all' ? '' : start.address;
  if (f.port !== start.port || address !== startAddress) { body.port = f.port; body.address = address; }
  if (f.tls_mode === 'psk') {
    body.psk_identity = f.psk_identity.trim();
    if (f.psk_key.trim()) body.psk_key = f.psk_key.trim();
  }
  if (f.tls_mode === 'certificate') {
    if (f.certificate.trim()) body.certificate = f.certificate;
    if (f.private_key.trim()) body.private_key = f.private_key;
    if (f.client_ca.trim()) body.client_ca = f.client_ca;
    else if (f.remove_client_ca) body.client_ca = '';
  }
  if (f.restrict !== 'anonymous') {
    const user = f.username.trim();
    if (user !== (loaded.username || '') || f.password || f.restrict !== loaded.restrict) body.username = user;
    if (f.restrict === 'password' && f.password) body.password = f.password;
  }
  return body;
}

export function BrokerPage() {
  const [loaded, setLoaded] = useState(null);
  const [f, setF] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [loadError, setLoadError] = useState(null);
  const outcomeRef = useRef(null);

  const load = () => get('/broker').then((b) => { setLoaded(b); setF(formOf(b)); setErrors({}); })
    .catch((e) => setLoadError(e.message));
  useEffect(() => { load(); }, []);
  useEffect(() => { if (outcome && outcomeRef.current) outcomeRef.current.scrollIntoView({ block: 'nearest', behavior: 'smooth' }); }, [outcome]);

  if (loadError) return html`<${PageHeader} title="Broker" /><div class="notice error">${loadError}</div>`;
  if (!f) return html`<${PageHeader} title="Broker" /><p aria-busy="true">Reading the broker settings…</p>`;

  const set = (k) => (v) => setF({ ...f, [k]: v });
  const err = (k) => errors[k];

  const apply = async (e) => {
    e.preventDefault();
    setBusy(true);
    setOutcome(null);
    try {
      const r = await put('/broker', bodyOf(f, loaded));
      setOutcome({ ok: r });
      await load();
    } catch (x) {
      if (!(x instanceof ApiError)) throw x;
      setErrors(x.fields);
      setOutcome({ error: x });
    } finally {
      setBusy(false);
    }
  };
  const reset = () => { setF(formOf(loaded)); setErrors({}); setOutcome(null); };

  const cert = loaded.certificate ? describeCert(loaded.certificate) : loaded.certificate_error ? `unreadable: ${loaded.certificate_error}` : null;
  const ca = loaded.client_ca ? loaded.client_ca.map(describeCert).join('; ') : null;
  const cnNeedsCa = f.restrict === 'certificate_cn' && (f.tls_mode !== 'certificate' || (!f.client_ca.trim() && (!loaded.client_ca || f.remove_client_ca)));

  return html`
    <${PageHeader} title="Broker" intro="The local MQTT broker for the devices on this router's network." />
    <form class="settings" onSubmit=${apply} novalidate>
      <article>
        <h2>General</h2>
        <${CheckField} name="enabled" label="Enable MQTT Broker" checked=${f.enabled} onChange=${set('enabled')} error=${err('enabled')}
          help="Unchecked, no client can connect, and the bridges still forward between their remote brokers (the router is then a pure relay)." />
        <div class="grid2">
          <${TextField} name="port" label="TCP Port" type="number" min="1" max="65535" value=${f.port} onInput=${set('port')} error=${err('port')}
            help="1883 is the standard MQTT port; 8883 is the usual one with TLS." />
          <${SelectField} name="log_level" label="Log Level" value=${f.log_level} onChange=${set('log_level')} error=${err('log_level')}
            options=${f.log_level === 'custom' ? [['custom', 'Custom (log_type lines in the configuration file)'], ...LOG_LEVELS] : LOG_LEVELS}
            help="What the broker writes to its log (see the Log page)." />
        </div>
        <div class="grid2">
          <${SelectField} name="listen" label="Listen On" value=${f.listen} onChange=${set('listen')}
            options=${[['local', 'This router only (loopback)'], ['all', 'All network interfaces'], ['address', 'One address']]}
            help="Which network addresses accept MQTT clients." />
          ${f.listen === 'address' ? html`<${TextField} name="address" label="Listen Address" value=${f.address} onInput=${set('address')}
            error=${err('address')} placeholder="192.168.1.1" help="An IPv4 or IPv6 address of this router." />` : html`<div></div>`}
        </div>
      </article>

      <article>
        <h2>TLS</h2>
        <${RadioField} name="tls_mode" label="TLS Mode" value=${f.tls_mode} onChange=${set('tls_mode')} error=${err('tls_mode') || err('tls')}
          options=${[['none', 'None'], ['psk', 'PSK'], ['certificate', 'Certificate']]}
          help=${f.tls_mode === 'none' ? 'Plain MQTT: traffic is not encrypted.'
            : f.tls_mode === 'psk' ? 'TLS with a pre-shared key: clients give the identity and the key (mosquitto_pub --psk-identity ID --psk KEY).'
            : 'TLS with the broker certificate: clients check it against the CA that signed it.'} />
        ${f.tls_mode === 'psk' ? html`<div class="grid2">
          <${TextField} name="psk_identity" label="PSK Identity" value=${f.psk_identity} onInput=${set('psk_identity')} error=${err('psk_identity')}
            help="The name clients give with the key." />
          <${PskKeyField} name="psk_key" label="Pre-shared Key" value=${f.psk_key} onInput=${set('psk_key')} error=${err('psk_key')}
            isSet=${loaded.psk_key_set && loaded.tls_mode === 'psk'} />
        </div>` : null}
        ${f.tls_mode === 'certificate' ? html`
          <${PemField} name="certificate" kind="certificate" label="Broker Certificate" value=${f.certificate} onInput=${set('certificate')}
            error=${err('certificate')} current=${cert}
            help="PEM. Its Common Name (or a subject alternative name) is the address clients use." />
          <${PemField} name="private_key" kind="private_key" label="Broker Private Key" value=${f.private_key} onInput=${set('private_key')}
            error=${err('private_key')} current=${loaded.private_key_set ? 'a key (not shown)' : null} pairWith=${f.certificate}
            help="PEM, without a password: a password-protected private key cannot be loaded." />
          <${PemField} name="client_ca" kind="ca" label="Client CA Certificate(s) (optional)" value=${f.client_ca} onInput=${set('client_ca')}
            error=${err('client_ca')} current=${f.remove_client_ca ? null : ca}
            help="When given, every client must present a certificate signed by one of them." />
          ${loaded.client_ca && !f.client_ca.trim() ? html`<${CheckField} name="remove_client_ca" label="Remove the client CA (clients need no certificate)"
            checked=${f.remove_client_ca} onChange=${set('remove_client_ca')} />` : null}` : null}
      </article>

      <article>
        <h2>Access</h2>
        <${RadioField} name="restrict" label="Restrict For" value=${f.restrict} onChange=${set('restrict')} error=${err('restrict') || err('security')}
          options=${[['anonymous', 'Anonymous'], ['password', 'Username + Password'], ['certificate_cn', 'Certificate CN']]}
          help=${f.restrict === 'anonymous' ? 'Anyone who reaches the port may connect, publish and subscribe.'
            : f.restrict === 'password' ? 'Only the configured user may connect.'
            : 'Only the client whose certificate Common Name equals the username may connect, publish and subscribe.'} />
        ${cnNeedsCa ? html`<p class="notice warn small">Certificate CN needs TLS mode Certificate with a client CA certificate.</p>` : null}
        ${f.restrict !== 'anonymous' ? html`<div class="grid2">
          <${TextField} name="username" label=${f.restrict === 'certificate_cn' ? 'Username (certificate Common Name)' : 'Username'}
            value=${f.username} onInput=${set('username')} error=${err('username')} autocomplete="off" />
          ${f.restrict === 'password' ? html`<${TextField} name="password" label="Password" type="password" value=${f.password}
            onInput=${set('password')} error=${err('password')} autocomplete="new-password"
            placeholder=${loaded.password_set && loaded.restrict === 'password' ? 'unchanged' : ''}
            help=${loaded.password_set && loaded.restrict === 'password' ? 'A password is set; leave empty to keep it.' : 'Required.'} />` : null}
        </div>` : null}
        ${loaded.users > 1 ? html`<p class="muted small">The password file ${loaded.password_file} has ${loaded.users} users; saving a user here replaces it with one.</p>` : null}
      </article>

      <div ref=${outcomeRef}><${Outcome} outcome=${outcome} labels=${LABELS} onClose=${() => setOutcome(null)} /></div>
      <div class="form-actions">
        <button type="submit" id="apply" aria-busy=${busy ? 'true' : undefined} disabled=${busy}>Apply</button>
        <button type="button" class="secondary outline" onClick=${reset} disabled=${busy}>Reset</button>
      </div>
    </form>`;
}
