// Status: the service, its numbers, live charts of the last 15 minutes, and one card per
// bridge. One history request, then the live stream (a sample every second).
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { get, stream } from '../api.js';
import { LiveChart } from './chart.js';
import { Badge, Empty, PageHeader, fmtBytes, fmtDuration, fmtNumber, fmtRate, fmtTime } from '../ui.js';

const WINDOW_S = 900;

function emptyHistory() {
  return { t: [], min: [], mout: [], bin: [], bout: [] };
}

function push(h, atMs, mi, mo, bi, bo) {
  const t = Math.floor(atMs / 1000);
  if (h.t.length && t <= h.t[h.t.length - 1]) return false;
  h.t.push(t); h.min.push(mi); h.mout.push(mo); h.bin.push(bi); h.bout.push(bo);
  while (h.t.length && h.t[0] < t - WINDOW_S) {
    h.t.shift(); h.min.shift(); h.mout.shift(); h.bin.shift(); h.bout.shift();
  }
  return true;
}

function Stat({ label, value, sub, id }) {
  return html`<article class="stat" id=${id}>
    <span class="stat-label">${label}</span>
    <span class="stat-value">${value}</span>
    ${sub ? html`<span class="stat-sub">${sub}</span>` : null}
  </article>`;
}

const PROTOCOLS = { mqtt: 'MQTT', websockets: 'MQTT over WebSockets', http_api: 'Web admin' };
const TLS = { none: 'none', psk: 'PSK', certificate: 'certificate' };

function Listeners({ st }) {
  const rows = [...st.listeners, ...st.admin_listeners.map((l) => ({ ...l, admin: true }))];
  if (!rows.length) return html`<${Empty}>No listener is open: the broker runs in bridges-only mode.<//>`;
  return html`<div class="table-wrap"><table class="striped responsive">
    <thead><tr><th>Port</th><th>Address</th><th>Protocol</th><th>TLS</th><th>Access</th><th>Connections</th></tr></thead>
    <tbody>${rows.map((l) => html`<tr>
      <td data-label="Port">${l.port}</td>
      <td data-label="Address">${l.address || (st.service.local_only ? 'loopback' : 'all')}</td>
      <td data-label="Protocol">${PROTOCOLS[l.protocol] || l.protocol}</td>
      <td data-label="TLS">${TLS[l.tls] || l.tls}${l.mtls ? ' + client certificate' : ''}</td>
      <td data-label="Access">${l.admin ? 'admin login' : l.allow_anonymous ? 'anonymous' : 'username and password'}</td>
      <td data-label="Connections">${l.admin ? '–' : fmtNumber(l.connections)}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function BridgeCard({ b }) {
  const since = b.connected_since ? `${fmtTime(b.connected_since)} (${fmtDuration(Date.now() / 1000 - b.connected_since)})` : '–';
  return html`<article class="bridge-card" data-bridge=${b.name} data-out=${b.messages_out} data-in=${b.messages_in}>
    <header><strong>${b.name}</strong> <${Badge} state=${b.state} /></header>
    <dl>
      <dt>Active address</dt><dd>${b.address ? html`${b.active}: <code>${b.address}</code>` : '–'}</dd>
      <dt>Connected since</dt><dd>${b.connected ? since : '–'}</dd>
      <dt>Last error</dt><dd class=${b.last_error ? 'bad-text' : ''}>${b.last_error || 'none'}</dd>
      <dt>Queued</dt><dd>${fmtNumber(b.queued)}</dd>
      <dt>Messages out / in</dt><dd>${fmtNumber(b.messages_out)} / ${fmtNumber(b.messages_in)}</dd>
      ${b.dropped ? html`<dt>Dropped</dt><dd class="bad-text">${fmtNumber(b.dropped)}</dd>` : null}
    </dl>
  </article>`;
}

export function StatusPage() {
  const [st, setSt] = useState(null);
  const [error, setError] = useState(null);
  const hist = useRef(emptyHistory());
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let close = null;
    let gone = false;
    get(`/status/history?seconds=${WINDOW_S}`).then((h) => {
      if (gone) return;
      const x = emptyHistory();
      for (const s of h.samples || []) push(x, s.at, s.messages_in, s.messages_out, s.bytes_in, s.bytes_out);
      hist.current = x;
      setVersion((v) => v + 1);
    }).catch((e) => setError(e.message)).finally(() => {
      if (gone) return;
      close = stream('/status/stream', {
        status: (s) => {
          setSt(s);
          setError(null);
          if (push(hist.current, s.at, s.messages.received_per_second, s.messages.sent_per_second,
            s.bytes.received_per_second, s.bytes.sent_per_second)) setVersion((v) => v + 1);
        },
      }, (closed) => setError(closed ? 'The live status stream stopped; reload the page to restart it.'
        : 'The connection to the broker was lost: reconnecting… (the figures below are from before).'));
    });
    return () => { gone = true; if (close) close(); };
  }, []);

  const h = hist.current;
  // New arrays each second so the charts see new data.
  const msgData = [h.t.slice(), h.min.slice(), h.mout.slice()];
  const byteData = [h.t.slice(), h.bin.slice(), h.bout.slice()];

  if (!st) {
    return html`<${PageHeader} title="Status" />
      ${error ? html`<div class="notice error">${error}</div>` : html`<p aria-busy="true">Reading the broker's status…</p>`}`;
  }
  const svc = st.service;
  return html`
    <${PageHeader} title="Status" intro="The MQTT service at a glance, live: updated every second." />
    ${error ? html`<div class="notice error">${error}</div>` : null}
    <section class="stats">
      <${Stat} id="stat-service" label="MQTT service"
        value=${html`<${Badge} state=${svc.state} text=${svc.state === 'running' ? 'Running' : 'Bridges only'} />`}
        sub=${`Petrel ${svc.version}, up ${fmtDuration(svc.uptime)}`} />
      <${Stat} id="stat-clients" label="Clients connected" value=${fmtNumber(st.clients.connected)}
        sub=${`${fmtNumber(st.clients.total)} session${st.clients.total === 1 ? '' : 's'}, at most ${fmtNumber(st.clients.maximum)}`} />
      <${Stat} id="stat-subscriptions" label="Subscriptions" value=${fmtNumber(st.subscriptions)} />
      <${Stat} id="stat-retained" label="Retained messages" value=${fmtNumber(st.retained.count)} sub=${fmtBytes(st.retained.bytes)} />
      <${Stat} id="stat-memory" label="Memory" value=${fmtBytes(st.memory.rss_bytes)} sub="resident" />
    </section>

    <section class="charts">
      <article class="chart-card">
        <header>
          <h2>Messages per second</h2>
          <div class="rates">
            <span class="rate in">in <b id="rate-msgs-in">${fmtNumber(st.messages.received_per_second)}</b></span>
            <span class="rate out">out <b id="rate-msgs-out">${fmtNumber(st.messages.sent_per_second)}</b></span>
          </div>
        </header>
        <${LiveChart} id="chart-messages" data=${msgData} format=${(v) => fmtNumber(Math.round(v))}
          series=${[{ label: 'in', stroke: '#1e6fd9' }, { label: 'out', stroke: '#d9821e' }]} />
        <p class="muted small">PUBLISH packets received from and sent to clients; last 15 minutes.
          Totals: ${fmtNumber(st.messages.received)} in, ${fmtNumber(st.messages.sent)} out, ${fmtNumber(st.messages.dropped)} dropped.</p>
      </article>
      <article class="chart-card">
        <header>
          <h2>Bytes per second</h2>
          <div class="rates">
            <span class="rate in">in <b id="rate-bytes-in">${fmtRate(st.bytes.received_per_second, 'B')}</b></span>
            <span class="rate out">out <b id="rate-bytes-out">${fmtRate(st.bytes.sent_per_second, 'B')}</b></span>
          </div>
        </header>
        <${LiveChart} id="chart-bytes" binary data=${byteData} format=${(v) => fmtBytes(Math.round(v))}
          series=${[{ label: 'in', stroke: '#1e6fd9' }, { label: 'out', stroke: '#d9821e' }]} />
        <p class="muted small">All bytes on client connections; totals ${fmtBytes(st.bytes.received)} in, ${fmtBytes(st.bytes.sent)} out.</p>
      </article>
    </section>

    <section>
      <h2>Bridges</h2>
      ${st.bridges.length
        ? html`<div class="bridge-cards">${st.bridges.map((b) => html`<${BridgeCard} b=${b} />`)}</div>`
        : html`<${Empty}>No bridge is configured. Add one under <a href="#/bridges">Configuration → Bridges</a>.<//>`}
    </section>

    <section>
      <h2>Listeners</h2>
      <${Listeners} st=${st} />
      <p class="muted small">Started ${fmtTime(svc.started_at)}, process ${svc.pid}${svc.config_file ? `, configuration ${svc.config_file}` : ', embedded default configuration'}.</p>
    </section>`;
}
