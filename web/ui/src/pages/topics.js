// Topics: the retained messages as a tree (payload preview, delete), and a live message
// viewer: subscribe to a filter, watch messages arrive, publish a test message.
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { ApiError, del, get, post, stream } from '../api.js';
import { Empty, Outcome, PageHeader, TextField, SelectField, CheckField, fmtBytes, fmtNumber, useConfirm } from '../ui.js';

function payloadText(m) {
  if (m.payload != null) return m.payload === '' ? '(empty)' : m.payload;
  return `(binary, base64) ${m.payload_base64}`;
}

// Topic levels -> nested nodes {name, path, children: Map, msg, count}
function buildTree(messages) {
  const root = { name: '', path: '', children: new Map(), msg: null, count: 0 };
  for (const m of messages) {
    let node = root;
    node.count++;
    const levels = m.topic.split('/');
    levels.forEach((level, i) => {
      if (!node.children.has(level)) node.children.set(level, { name: level, path: levels.slice(0, i + 1).join('/'), children: new Map(), msg: null, count: 0 });
      node = node.children.get(level);
      node.count++;
    });
    node.msg = m;
  }
  return root;
}

function Node({ node, depth, onDelete }) {
  const kids = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name));
  const leaf = node.msg ? html`<div class="leaf" data-topic=${node.msg.topic}>
    <div class="leaf-head">
      <code class="topic">${node.name || '(empty level)'}</code>
      <span class="muted small">QoS ${node.msg.qos}, ${fmtBytes(node.msg.size)}${node.msg.expires_in != null ? `, expires in ${node.msg.expires_in} s` : ''}</span>
      <button class="danger outline small" data-action="delete-retained" onClick=${() => onDelete(node.msg)}>Delete</button>
    </div>
    <pre class="payload">${payloadText(node.msg)}${node.msg.truncated ? ' …' : ''}</pre>
  </div>` : null;
  if (!kids.length) return leaf;
  return html`<details class="branch" open=${depth < 2} data-path=${node.path}>
    <summary><code>${node.name || '(empty level)'}</code> <span class="count">${node.count}</span></summary>
    <div class="children">
      ${leaf}
      ${kids.map((k) => html`<${Node} key=${k.path} node=${k} depth=${depth + 1} onDelete=${onDelete} />`)}
    </div>
  </details>`;
}

function Retained({ version }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [showSys, setShowSys] = useState(false);
  const [filter, setFilter] = useState('');
  const [outcome, setOutcome] = useState(null);
  const [dialog, ask] = useConfirm();
  const load = () => get('/retained?limit=5000').then((r) => { setData(r); setError(null); }).catch((e) => setError(e.message));
  useEffect(() => { load(); }, [version]);

  const onDelete = async (m) => {
    if (!await ask({ title: 'Delete this retained message?', text: `New subscribers to ${m.topic} will no longer receive it. Clients already subscribed are not affected.`, confirm: 'Delete', danger: true })) return;
    try {
      const r = await del(`/retained/${encodeURIComponent(m.topic)}`);
      setOutcome({ note: `${r.message}.` });
    } catch (x) {
      if (!(x instanceof ApiError)) throw x;
      setOutcome({ error: x });
    }
    load();
  };

  const all = data ? data.messages : [];
  const shown = all.filter((m) => (showSys || !m.topic.startsWith('$')) && (!filter || m.topic.includes(filter)));
  const hiddenSys = all.filter((m) => m.topic.startsWith('$')).length;
  const root = buildTree(shown);
  return html`<section class="retained">
    <header class="section-head"><h2>Retained messages</h2>
      <button class="secondary outline small" onClick=${load}>Refresh</button></header>
    <div class="toolbar">
      <input type="search" name="retained-filter" placeholder="Filter topics" value=${filter} aria-label="Filter topics"
        onInput=${(e) => setFilter(e.target.value)} />
      <label class="inline-switch"><input type="checkbox" role="switch" checked=${showSys} onChange=${(e) => setShowSys(e.target.checked)} />
        Show $SYS (${hiddenSys})</label>
    </div>
    <${Outcome} outcome=${outcome} onClose=${() => setOutcome(null)} />
    ${error ? html`<div class="notice error">${error}</div>` : null}
    ${!data ? html`<p aria-busy="true">Reading the retained messages…</p>`
      : shown.length === 0 ? html`<${Empty}>${filter ? 'No retained message matches the filter.'
          : hiddenSys ? `No retained message outside $SYS (the ${hiddenSys} broker status topics are hidden). A message published with the retain flag is kept here for new subscribers.`
          : 'No retained message is stored. A message published with the retain flag is kept here for new subscribers.'}<//>`
      : html`<p class="muted small">${fmtNumber(shown.length)} message${shown.length === 1 ? '' : 's'}${data.truncated ? ` (the first ${all.length} of ${data.total})` : ''}.</p>
        <div class="tree" id="retained-tree">${[...root.children.values()].sort((a, b) => a.name.localeCompare(b.name))
          .map((k) => html`<${Node} key=${k.path} node=${k} depth=${0} onDelete=${onDelete} />`)}</div>`}
    ${dialog}
  </section>`;
}

const MAX_SHOWN = 200;

// Why a subscription filter is not valid, or null ('+' a whole level, '#' the whole last one).
function filterProblem(f) {
  if (!f) return 'Give a topic filter, e.g. sensor/# or +/status.';
  if (f.startsWith('$share/')) return 'Shared subscriptions ($share/...) cannot be watched here.';
  const levels = f.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return "'#' must be a whole level, the last one (e.g. sensor/#).";
    if (l.includes('+') && l !== '+') return "'+' must be a whole level (e.g. +/status).";
  }
  return null;
}

function clockTime() {
  const d = new Date();
  const p = (x) => String(x).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function Live({ onRetained }) {
  const [filter, setFilter] = useState('#');
  const [active, setActive] = useState(null);  // the filter watched
  const [state, setState] = useState('');
  const [messages, setMessages] = useState([]);
  const [skipped, setSkipped] = useState(0);
  const [filterError, setFilterError] = useState(null);
  const closeRef = useRef(null);
  const [pub, setPub] = useState({ topic: 'test/petrel', payload: 'hello', qos: 0, retain: false });
  const [pubOutcome, setPubOutcome] = useState(null);
  const [pubErrors, setPubErrors] = useState({});

  const stop = () => { if (closeRef.current) closeRef.current(); closeRef.current = null; setActive(null); setState(''); };
  useEffect(() => stop, []);
  const start = (e) => {
    e.preventDefault();
    stop();
    const f = filter.trim();
    const problem = filterProblem(f);
    setFilterError(problem);
    if (problem) return;
    setMessages([]);
    setSkipped(0);
    setActive(f);
    setState('connecting');
    closeRef.current = stream(`/watch?filter=${encodeURIComponent(f)}`, {
      subscribed: () => setState('subscribed'),
      message: (m) => setMessages((old) => [{ ...m, at: clockTime() }, ...old].slice(0, MAX_SHOWN)),
      skipped: (s) => setSkipped((n) => n + s.count),
      error: (x) => { setState(`stopped: ${x.error}`); if (closeRef.current) closeRef.current(); closeRef.current = null; },
    }, (closed) => setState(closed ? 'stopped: the stream ended' : 'reconnecting'));
  };

  const publish = async (e) => {
    e.preventDefault();
    setPubOutcome(null);
    setPubErrors({});
    try {
      const r = await post('/publish', { topic: pub.topic, payload: pub.payload, qos: Number(pub.qos), retain: pub.retain });
      setPubOutcome({ note: `${r.message[0].toUpperCase()}${r.message.slice(1)} on ${pub.topic} at QoS ${r.qos}${pub.retain ? ', retained' : ''}.` });
      if (pub.retain) onRetained();
    } catch (x) {
      if (!(x instanceof ApiError)) throw x;
      setPubErrors(x.fields);
      setPubOutcome({ error: x });
    }
  };

  return html`<section class="live">
    <header class="section-head"><h2>Live messages</h2></header>
    <form class="toolbar" onSubmit=${start}>
      <input name="watch-filter" class="mono" value=${filter} aria-label="Topic filter" placeholder="sensor/#"
        aria-invalid=${filterError ? 'true' : undefined}
        onInput=${(e) => setFilter(e.target.value)} />
      ${active ? html`<button type="button" class="secondary" id="watch-stop" onClick=${stop}>Stop</button>` : null}
      <button type="submit" id="watch-start">${active ? 'Restart' : 'Subscribe'}</button>
    </form>
    ${filterError ? html`<p class="field-error small" role="alert">${filterError}</p>` : null}
    <p class="muted small" id="watch-state">${active ? html`Watching <code>${active}</code>: ${state}.` : 'Subscribe to a topic filter (+ and # wildcards) to watch the messages that match it, as a client would.'}
      ${skipped ? html` ${fmtNumber(skipped)} messages not shown (more than 50 a second).` : null}</p>
    ${active && messages.length === 0 ? html`<${Empty}>No message yet on <code>${active}</code>.<//>` : null}
    ${messages.length ? html`<div class="messages" id="messages">
      ${messages.map((m) => html`<div class="message" data-topic=${m.topic}>
        <div class="message-head"><span class="muted small">${m.at}</span> <code class="topic">${m.topic}</code>
          <span class="muted small">QoS ${m.qos}${m.retain ? ', retained' : ''}, ${fmtBytes(m.size)}</span></div>
        <pre class="payload">${payloadText(m)}${m.truncated ? ' …' : ''}</pre>
      </div>`)}</div>` : null}

    <form class="publish" onSubmit=${publish}>
      <h3>Publish a test message</h3>
      <div class="grid2">
        <${TextField} name="pub-topic" label="Topic" value=${pub.topic} mono error=${pubErrors.topic}
          onInput=${(v) => setPub({ ...pub, topic: v })} />
        <div class="grid2 tight">
          <${SelectField} name="pub-qos" label="QoS" value=${pub.qos} options=${[[0, '0'], [1, '1'], [2, '2']]}
            onChange=${(v) => setPub({ ...pub, qos: Number(v) })} />
          <${CheckField} name="pub-retain" label="Retain" checked=${pub.retain} onChange=${(v) => setPub({ ...pub, retain: v })} />
        </div>
      </div>
      <label>Payload<textarea name="pub-payload" rows="3" class="mono" value=${pub.payload}
        onInput=${(e) => setPub({ ...pub, payload: e.target.value })}></textarea></label>
      <${Outcome} outcome=${pubOutcome} />
      <button type="submit" id="publish">Publish</button>
      <p class="muted small">Published as the logged-in admin user: the broker's ACL applies.</p>
    </form>
  </section>`;
}

export function TopicsPage() {
  const [version, setVersion] = useState(0);
  return html`<${PageHeader} title="Topics" intro="What the broker keeps for new subscribers, and what flows through it now." />
    <div class="two-col"><${Retained} version=${version} /><${Live} onRetained=${() => setVersion((v) => v + 1)} /></div>`;
}
