// Bridges: the router product's Bridge pages, for any number of bridges. A list with the
// live state, add / edit / enable / disable / delete, and an editor with every field of
// the product's bridge table and several topic rules, each with a live example of its
// mapping (POST /bridge-preview: the bridge's own topic mapping).
import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { ApiError, del, get, post, put } from '../api.js';
import {
  Badge, CheckField, Empty, Outcome, PageHeader, RadioField, SelectField, TextField,
  fmtNumber, useConfirm, useDebounced,
} from '../ui.js';
import { PemField, describeCert } from '../pem.js';
import { PskKeyField } from './psk.js';

const DIRECTIONS = [['out', 'out (local → remote)'], ['in', 'in (remote → local)'], ['both', 'both']];
const QOS = [[0, '0'], [1, '1'], [2, '2']];

const LABELS = {
  name: 'Bridge Name', enabled: 'Enable Bridge', client_id: 'Client ID', primary: 'Primary Remote Host',
  'primary.host': 'Primary Remote Host', 'primary.port': 'Primary port', secondary: 'Secondary Remote Host',
  'secondary.host': 'Secondary Remote Host', 'secondary.port': 'Secondary port', protocol_version: 'MQTT Version',
  keepalive: 'Keepalive Interval', clean_session: 'Clean Session', try_private: 'Try Private', tls_mode: 'TLS Mode',
  psk_identity: 'PSK Identity', psk_key: 'Pre-shared Key', ca_certificate: 'Remote CA Certificate(s)',
  verify_hostname: 'Verify Hostname', client_certificate: 'Local Certificate', client_key: 'Local Private Key',
  username: 'Username', password: 'Password', topics: 'Topics',
  topic: 'Topic', direction: 'Direction', qos: 'QoS', local_prefix: 'Local Prefix', remote_prefix: 'Remote Prefix',
};

// "topics[1].local_prefix" -> "Rule 2, Local Prefix"
function fieldLabel(f) {
  const m = /^topics\[(\d+)\]\.?(.*)$/.exec(f);
  if (m) return `Rule ${Number(m[1]) + 1}${m[2] ? `, ${LABELS[m[2]] || m[2]}` : ''}`;
  return LABELS[f] || f;
}

const addr = (a) => (a ? `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : '');

function rulesText(topics) {
  return topics.map((t) => `${t.topic || '""'} ${t.direction} QoS ${t.qos}${t.local_prefix || t.remote_prefix ? ` (${t.local_prefix || '""'} ⇄ ${t.remote_prefix || '""'})` : ''}`);
}

function newRule() {
  return { topic: '', direction: 'out', qos: 0, local_prefix: '', remote_prefix: '' };
}

function formOf(b) {
  if (!b) {
    return {
      name: '', enabled: true, primary_host: '', primary_port: 1883, secondary_host: '', secondary_port: 1883,
      client_id: '', client_id_edited: false, protocol_version: '3.1.1', keepalive: 60, clean_session: false, try_private: true,
      tls_mode: 'none', psk_identity: '', psk_key: '', ca_certificate: '', verify_hostname: true,
      client_certificate: '', client_key: '', auth: 'none', username: '', password: '', topics: [newRule()],
    };
  }
  return {
    name: b.name, enabled: b.enabled,
    primary_host: b.primary ? b.primary.host : '', primary_port: b.primary ? b.primary.port : 1883,
    secondary_host: b.secondary ? b.secondary.host : '', secondary_port: b.secondary ? b.secondary.port : 1883,
    client_id: b.client_id || '', client_id_edited: true,
    protocol_version: b.protocol_version, keepalive: b.keepalive, clean_session: b.clean_session, try_private: b.try_private,
    tls_mode: b.tls_mode, psk_identity: b.psk_identity || '', psk_key: '', ca_certificate: '', verify_hostname: b.verify_hostname,
    client_certificate: '', client_key: '', auth: b.username ? 'password' : 'none', username: b.username || '', password: '',
    topics: b.topics.length ? b.topics.map((t) => ({ ...t })) : [newRule()],
  };
}

function bodyOf(f) {
  const body = {
    name: f.name.trim(), enabled: f.enabled,
    primary: { host: f.primary_host.trim(), port: Number(f.primary_port) || 1883 },
    secondary: f.secondary_host.trim() ? { host: f.secondary_host.trim(), port: Number(f.secondary_port) || 1883 } : null,
    client_id: (f.client_id.trim() || f.name.trim()),
    protocol_version: f.protocol_version, keepalive: Number(f.keepalive) || 60,
    clean_session: f.clean_session, try_private: f.try_private, tls_mode: f.tls_mode,
    username: f.auth === 'password' ? f.username.trim() : '',
    topics: f.topics.map((t) => ({ topic: t.topic.trim(), direction: t.direction, qos: Number(t.qos),
      local_prefix: t.local_prefix.trim(), remote_prefix: t.remote_prefix.trim() })),
  };
  if (f.tls_mode === 'psk') {
    body.psk_identity = f.psk_identity.trim();
    if (f.psk_key.trim()) body.psk_key = f.psk_key.trim();
  }
  if (f.tls_mode === 'certificate') {
    body.verify_hostname = f.verify_hostname;
    if (f.ca_certificate.trim()) body.ca_certificate = f.ca_certificate;
    if (f.client_certificate.trim()) body.client_certificate = f.client_certificate;
    if (f.client_key.trim()) body.client_key = f.client_key;
  }
  if (f.auth === 'password' && f.password) body.password = f.password;
  return body;
}

// A topic that the rule's pattern matches: '+' and '#' filled in.
function exampleOf(pattern) {
  if (!pattern) return '';
  return pattern.split('/').map((p) => (p === '#' ? 'temperature' : p === '+' ? 'device1' : p)).join('/');
}

// The live example of one rule: what a local topic becomes on the remote (out), what a
// remote topic becomes here (in).
function RulePreview({ rule, onErrors }) {
  const r = useDebounced(JSON.stringify(rule), 300);
  const [lines, setLines] = useState([]);
  useEffect(() => {
    let live = true;
    const t = JSON.parse(r);
    const rule = { topic: t.topic.trim(), direction: t.direction, qos: Number(t.qos), local_prefix: t.local_prefix.trim(), remote_prefix: t.remote_prefix.trim() };
    if (!rule.topic && !rule.local_prefix && !rule.remote_prefix) { setLines([]); onErrors({}); return; }
    const asks = [];
    if (rule.direction !== 'in') asks.push({ direction: 'out', topic: rule.topic ? rule.local_prefix + exampleOf(rule.topic) : rule.local_prefix });
    if (rule.direction !== 'out') asks.push({ direction: 'in', topic: rule.topic ? rule.remote_prefix + exampleOf(rule.topic) : rule.remote_prefix });
    Promise.all(asks.map((a) => post('/bridge-preview', { rule, ...a }))).then((rs) => {
      if (!live) return;
      onErrors({});
      setLines(rs.map((x) => (x.matches ? { ok: true, text: x.example, dir: x.direction } : { ok: false, text: `${x.topic}: ${x.reason}`, dir: x.direction })));
    }).catch((e) => {
      if (!live) return;
      setLines([]);
      if (e instanceof ApiError && e.status === 400) {
        const errs = {};
        for (const [k, v] of Object.entries(e.fields)) errs[k.replace(/^rule\.?/, '') || 'rule'] = v;
        onErrors(errs);
      }
    });
    return () => { live = false; };
  }, [r]);
  if (!lines.length) return null;
  return html`<div class="rule-preview" aria-live="polite">
    ${lines.map((l) => html`<div class=${l.ok ? 'example' : 'example none'} data-direction=${l.dir}>
      <span class="tag">${l.dir === 'out' ? 'out' : 'in'}</span><code>${l.text}</code></div>`)}
  </div>`;
}

function RuleEditor({ rule, index, onChange, onRemove, errors, canRemove }) {
  const [previewErrors, setPreviewErrors] = useState({});
  const e = (k) => errors[`topics[${index}].${k}`] || previewErrors[k];
  const set = (k) => (v) => onChange({ ...rule, [k]: v });
  const whole = errors[`topics[${index}]`] || previewErrors.rule;
  return html`<div class="rule" data-rule=${index}>
    <div class="rule-head"><strong>Rule ${index + 1}</strong>
      ${canRemove ? html`<button type="button" class="secondary outline small" onClick=${onRemove}>Remove</button>` : null}</div>
    <div class="rule-grid">
      <${TextField} name=${`topic-${index}`} label="Topic" value=${rule.topic} onInput=${set('topic')} error=${e('topic')} mono
        placeholder="sensor/#" help="The topic pattern shared (+ and # wildcards)." />
      <${SelectField} name=${`direction-${index}`} label="Direction" value=${rule.direction} onChange=${set('direction')} error=${e('direction')} options=${DIRECTIONS} />
      <${SelectField} name=${`qos-${index}`} label="QoS" value=${rule.qos} onChange=${(v) => set('qos')(Number(v))} error=${e('qos')} options=${QOS} />
      <${TextField} name=${`local_prefix-${index}`} label="Local Prefix" value=${rule.local_prefix} onInput=${set('local_prefix')} error=${e('local_prefix')} mono
        placeholder="local/" help="Out: stripped from the local topic before the pattern is matched. In: put before the topic here." />
      <${TextField} name=${`remote_prefix-${index}`} label="Remote Prefix" value=${rule.remote_prefix} onInput=${set('remote_prefix')} error=${e('remote_prefix')} mono
        placeholder="remote/office1/" help="Out: put before the topic on the remote. In: stripped from the remote topic before the pattern is matched." />
    </div>
    ${whole ? html`<small class="field-error" role="alert">${whole}</small>` : null}
    <${RulePreview} rule=${rule} onErrors=${setPreviewErrors} />
  </div>`;
}

function BridgeEditor({ bridge, onSaved, onCancel }) {
  const [f, setF] = useState(formOf(bridge));
  const [errors, setErrors] = useState({});
  const [outcome, setOutcome] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setF((old) => ({ ...old, [k]: v }));
  const err = (k) => errors[k];

  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setOutcome(null);
    try {
      const r = bridge ? await put(`/bridges/${encodeURIComponent(bridge.name)}`, bodyOf(f)) : await post('/bridges', bodyOf(f));
      onSaved(r);
    } catch (x) {
      if (!(x instanceof ApiError)) throw x;
      setErrors(x.fields);
      setOutcome({ error: x });
    } finally {
      setBusy(false);
    }
  };
  const setRule = (i) => (r) => setF((old) => ({ ...old, topics: old.topics.map((t, j) => (j === i ? r : t)) }));
  const removeRule = (i) => () => setF((old) => ({ ...old, topics: old.topics.filter((t, j) => j !== i) }));
  const ca = bridge && bridge.ca_certificate ? bridge.ca_certificate.map(describeCert).join('; ') : null;
  const clientCert = bridge && bridge.client_certificate ? describeCert(bridge.client_certificate) : null;

  return html`<form class="settings bridge-editor" onSubmit=${save} novalidate>
    <h2>${bridge ? `Edit bridge ${bridge.name}` : 'Add a bridge'}</h2>
    <article>
      <h3>Connection</h3>
      <${CheckField} name="enabled" label="Enable Bridge" checked=${f.enabled} onChange=${set('enabled')} error=${err('enabled')} />
      <div class="grid2">
        <${TextField} name="name" label="Bridge Name" value=${f.name} error=${err('name')} placeholder="office1"
          onInput=${(v) => setF((old) => ({ ...old, name: v, client_id: old.client_id_edited ? old.client_id : v }))}
          help="Unique, one word: the connection's name, and the client ID towards the remote." />
        <${TextField} name="client_id" label="Client ID" value=${f.client_id} error=${err('client_id')}
          onInput=${(v) => setF((old) => ({ ...old, client_id: v, client_id_edited: true }))} placeholder=${f.name}
          help="The client ID on the remote broker (the bridge name unless changed)." />
      </div>
      <div class="grid-addr">
        <${TextField} name="primary_host" label="Primary Remote Host" value=${f.primary_host} onInput=${set('primary_host')}
          error=${err('primary.host') || err('primary')} placeholder="broker.example.net" help="Host name or IP address of the remote broker." />
        <${TextField} name="primary_port" label="Port" type="number" min="1" max="65535" value=${f.primary_port}
          onInput=${set('primary_port')} error=${err('primary.port')} />
      </div>
      <div class="grid-addr">
        <${TextField} name="secondary_host" label="Secondary Remote Host" value=${f.secondary_host} onInput=${set('secondary_host')}
          error=${err('secondary.host') || err('secondary')} placeholder="backup.example.net"
          help="Optional: used when the primary is unavailable, with the same credentials; the bridge returns to the primary once it answers again." />
        <${TextField} name="secondary_port" label="Port" type="number" min="1" max="65535" value=${f.secondary_port}
          onInput=${set('secondary_port')} error=${err('secondary.port')} />
      </div>
      <div class="grid2">
        <${SelectField} name="protocol_version" label="MQTT Version" value=${f.protocol_version} onChange=${set('protocol_version')}
          error=${err('protocol_version')} options=${[['3.1.1', '3.1.1'], ['5.0', '5.0'], ...(f.protocol_version === '3.1' ? [['3.1', '3.1']] : [])]} />
        <${TextField} name="keepalive" label="Keepalive Interval (seconds)" type="number" min="5" max="65535" value=${f.keepalive}
          onInput=${set('keepalive')} error=${err('keepalive')} />
      </div>
      <div class="grid2">
        <${CheckField} name="clean_session" label="Clean Session" checked=${f.clean_session} onChange=${set('clean_session')}
          error=${err('clean_session')} help="Start with a fresh session on the remote at every connection." />
        <${CheckField} name="try_private" label="Try Private" checked=${f.try_private} onChange=${set('try_private')} error=${err('try_private')}
          help="Tell the remote this is a bridge, for loop prevention. Not every broker supports it." />
      </div>
    </article>

    <article>
      <h3>TLS</h3>
      <${RadioField} name="tls_mode" label="TLS Mode" value=${f.tls_mode} onChange=${set('tls_mode')} error=${err('tls_mode')}
        options=${[['none', 'None'], ['psk', 'PSK'], ['certificate', 'Certificate']]} />
      ${f.tls_mode === 'psk' ? html`<div class="grid2">
        <${TextField} name="psk_identity" label="PSK Identity" value=${f.psk_identity} onInput=${set('psk_identity')} error=${err('psk_identity')} />
        <${PskKeyField} name="psk_key" label="Pre-shared Key" value=${f.psk_key} onInput=${set('psk_key')} error=${err('psk_key')}
          isSet=${bridge && bridge.psk_key_set} />
      </div>` : null}
      ${f.tls_mode === 'certificate' ? html`
        <${PemField} name="ca_certificate" kind="ca" label="Remote CA Certificate(s)" value=${f.ca_certificate} onInput=${set('ca_certificate')}
          error=${err('ca_certificate')} current=${ca} help="PEM: the CA that signed the remote broker's certificate." />
        <${CheckField} name="verify_hostname" label="Verify Hostname" checked=${f.verify_hostname} onChange=${set('verify_hostname')}
          error=${err('verify_hostname')} help="Check that the remote's certificate names the address connected to. Turn off only for testing." />
        <${PemField} name="client_certificate" kind="certificate" label="Local Certificate (optional)" value=${f.client_certificate}
          onInput=${set('client_certificate')} error=${err('client_certificate')} current=${clientCert}
          help="When the remote checks client certificates: this router's certificate (PEM)." />
        <${PemField} name="client_key" kind="private_key" label="Local Private Key" value=${f.client_key} onInput=${set('client_key')}
          error=${err('client_key')} pairWith=${f.client_certificate} current=${bridge && bridge.client_key_set ? 'a key (not shown)' : null}
          help="PEM, without a password." />` : null}
    </article>

    <article>
      <h3>Authentication</h3>
      <${RadioField} name="auth" label="Authentication" value=${f.auth} onChange=${set('auth')}
        options=${[['none', 'None'], ['password', 'Username + Password']]} />
      ${f.auth === 'password' ? html`<div class="grid2">
        <${TextField} name="remote_username" label="Username" value=${f.username} onInput=${set('username')} error=${err('username')} />
        <${TextField} name="remote_password" label="Password" type="password" value=${f.password} onInput=${set('password')}
          error=${err('password')} autocomplete="new-password"
          placeholder=${bridge && bridge.password_set ? 'unchanged' : ''}
          help=${bridge && bridge.password_set ? 'A password is set; leave empty to keep it.' : null} />
      </div>` : null}
    </article>

    <article>
      <h3>Topics</h3>
      <div class="explain">
        <p>Each rule shares the topics matching its pattern, in one direction or both, at a QoS.</p>
        <p><b>Out</b> (local → remote): the local prefix is stripped from the local topic, the rest must match the pattern,
          and the remote prefix is put before it. <b>In</b> (remote → local): the remote prefix is stripped, the rest must
          match the pattern, and the local prefix is put before it.</p>
        <p>With a topic, prefixes end with <code>/</code>. With an empty topic, the two prefixes are whole topic names
          mapped onto each other (no <code>/</code> at the end).</p>
        <p class="muted">Example: topic <code>sensor/#</code>, out, QoS 1, local prefix <code>local/</code>, remote prefix
          <code>remote/office1/</code>: <code>local/sensor/temperature</code> is published on the remote as
          <code>remote/office1/sensor/temperature</code>.</p>
      </div>
      ${err('topics') ? html`<small class="field-error" role="alert">${err('topics')}</small>` : null}
      ${f.topics.map((t, i) => html`<${RuleEditor} key=${i} rule=${t} index=${i} errors=${errors}
        onChange=${setRule(i)} onRemove=${removeRule(i)} canRemove=${f.topics.length > 1} />`)}
      <button type="button" class="secondary outline" id="add-rule"
        onClick=${() => setF((old) => ({ ...old, topics: [...old.topics, newRule()] }))}>Add a topic rule</button>
    </article>

    <${Outcome} outcome=${outcome} labels=${fieldLabel} onClose=${() => setOutcome(null)} />
    <div class="form-actions">
      <button type="submit" id="save-bridge" aria-busy=${busy ? 'true' : undefined} disabled=${busy}>${bridge ? 'Apply' : 'Add bridge'}</button>
      <button type="button" class="secondary outline" onClick=${onCancel} disabled=${busy}>Cancel</button>
    </div>
  </form>`;
}

function BridgeItem({ b, onEnable, onDelete }) {
  const st = b.status || { state: b.enabled ? 'stopped' : 'disabled' };
  return html`<article class="bridge-item" data-bridge=${b.name}>
    <header>
      <div class="bridge-title"><strong>${b.name}</strong> <${Badge} state=${st.state} /></div>
      <div class="actions">
        <label class="inline-switch"><input type="checkbox" role="switch" name=${`enable-${b.name}`} checked=${b.enabled}
          onChange=${(e) => onEnable(b, e.target.checked)} /> Enabled</label>
        <a href=${`#/bridges/edit/${encodeURIComponent(b.name)}`} role="button" class="secondary outline small">Edit</a>
        <button class="danger outline small" onClick=${() => onDelete(b)}>Delete</button>
      </div>
    </header>
    <dl class="facts">
      <dt>Remote</dt><dd><code>${addr(b.primary)}</code>${b.secondary ? html`, secondary <code>${addr(b.secondary)}</code>` : null}</dd>
      <dt>Connection</dt><dd>MQTT ${b.protocol_version}, TLS ${b.tls_mode}${b.username ? `, user ${b.username}` : ''}, client ID ${b.client_id || b.name}</dd>
      <dt>Topics</dt><dd>${rulesText(b.topics).map((t) => html`<code class="rule-text">${t}</code> `)}</dd>
      ${b.status ? html`<dt>Traffic</dt><dd>${fmtNumber(b.status.messages_out)} out, ${fmtNumber(b.status.messages_in)} in, ${fmtNumber(b.status.queued)} queued${b.status.last_error ? html`; <span class="bad-text">${b.status.last_error}</span>` : null}</dd>` : null}
    </dl>
  </article>`;
}

export function BridgesPage({ route }) {
  const [list, setList] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [dialog, ask] = useConfirm();
  const mode = route[1] || 'list';

  const load = () => get('/bridges').then((r) => { setList(r.bridges); setLoadError(null); }).catch((e) => setLoadError(e.message));
  useEffect(() => { load(); const t = setInterval(load, 3000); return () => clearInterval(t); }, []);

  const act = async (f) => {
    setOutcome(null);
    try { setOutcome({ ok: await f() }); } catch (x) { if (!(x instanceof ApiError)) throw x; setOutcome({ error: x }); }
    load();
  };
  const onEnable = (b, on) => act(() => post(`/bridges/${encodeURIComponent(b.name)}/${on ? 'enable' : 'disable'}`));
  const onDelete = async (b) => {
    const yes = await ask({ title: `Delete bridge ${b.name}?`, text: 'Its connection closes and its queued messages are dropped. The configuration file loses its connection section.', confirm: 'Delete', danger: true });
    if (yes) act(() => del(`/bridges/${encodeURIComponent(b.name)}`));
  };

  if (mode === 'new' || mode === 'edit') {
    const bridge = mode === 'edit' && list ? list.find((b) => b.name === route[2]) : null;
    if (mode === 'edit' && !list) return html`<${PageHeader} title="Bridges" /><p aria-busy="true">Reading the bridges…</p>`;
    if (mode === 'edit' && !bridge) return html`<${PageHeader} title="Bridges" /><div class="notice error">There is no bridge named ${route[2]}. <a href="#/bridges">Back to the list</a></div>`;
    return html`<${PageHeader} title="Bridges" />
      <${BridgeEditor} key=${route.join('/')} bridge=${bridge}
        onSaved=${(r) => { setOutcome({ ok: r }); load(); location.hash = '#/bridges'; }}
        onCancel=${() => { location.hash = '#/bridges'; }} />`;
  }

  return html`
    <${PageHeader} title="Bridges" intro="Connections to other MQTT brokers that forward chosen topics in or out.">
      <a href="#/bridges/new" role="button" id="add-bridge">Add bridge</a>
    <//>
    <${Outcome} outcome=${outcome} onClose=${() => setOutcome(null)} />
    ${loadError ? html`<div class="notice error">${loadError}</div>` : null}
    ${!list ? html`<p aria-busy="true">Reading the bridges…</p>`
      : list.length === 0 ? html`<${Empty}><p>No bridge is configured.</p>
          <p>A bridge connects this broker to another one (a primary and optionally a secondary address) and forwards
          the topics of its rules: out to the remote, in from it, or both.</p>
          <a href="#/bridges/new" role="button">Add the first bridge</a><//>`
      : list.map((b) => html`<${BridgeItem} key=${b.name} b=${b} onEnable=${onEnable} onDelete=${onDelete} />`)}
    ${dialog}`;
}
