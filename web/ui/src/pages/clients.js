// Clients: the connected clients and the offline persistent sessions, searchable, with
// disconnect (and removal of a session) after a confirmation.
import { html, useState } from '../vendor/preact-htm.js';
import { ApiError, get, post } from '../api.js';
import { Badge, Empty, Outcome, PageHeader, fmtDuration, fmtNumber, fmtTime, useConfirm, useDebounced, useInterval } from '../ui.js';

export function ClientsPage() {
  const [search, setSearch] = useState('');
  const [state, setState] = useState('all');
  const [showInternal, setShowInternal] = useState(false);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const [dialog, ask] = useConfirm();
  const q = useDebounced(search, 250);

  const load = () => {
    const params = new URLSearchParams({ state, limit: '500' });
    if (q.trim()) params.set('search', q.trim());
    if (showInternal) params.set('internal', 'true');
    return get(`/clients?${params}`).then((r) => { setData(r); setError(null); }).catch((e) => setError(e.message));
  };
  useInterval(load, 5000, [q, state, showInternal]);

  const disconnect = async (c) => {
    const answer = await ask(c.connected
      ? { title: `Disconnect ${c.client_id}?`, text: `The client at ${c.address || 'an unknown address'} is disconnected now; it may connect again.`,
          confirm: 'Disconnect', danger: true, extra: ['Also remove its session (subscriptions and queued messages)', false] }
      : { title: `Remove the session of ${c.client_id}?`, text: 'Its subscriptions and queued messages are removed.', confirm: 'Remove', danger: true });
    if (!answer) return;
    setOutcome(null);
    try {
      const r = await post('/clients/disconnect', { client_id: c.client_id, discard_session: !c.connected || !!answer.extra });
      setOutcome({ note: r.message + (c.connected && answer.extra ? ' and its session removed' : '') + '.' });
    } catch (x) {
      if (!(x instanceof ApiError)) throw x;
      setOutcome({ error: x });
    }
    load();
  };

  const clients = data ? data.clients : [];
  return html`
    <${PageHeader} title="Clients" intro="Connected MQTT clients and the sessions kept for clients that are away." />
    <div class="toolbar">
      <input type="search" name="search" placeholder="Search client ID, username or address" value=${search}
        aria-label="Search" onInput=${(e) => setSearch(e.target.value)} />
      <select name="state" value=${state} aria-label="Which" onChange=${(e) => setState(e.target.value)}>
        <option value="all">All</option><option value="connected">Connected</option><option value="offline">Offline sessions</option>
      </select>
      <label class="inline-switch"><input type="checkbox" role="switch" checked=${showInternal}
        onChange=${(e) => setShowInternal(e.target.checked)} /> Bridges and admin</label>
    </div>
    <${Outcome} outcome=${outcome} onClose=${() => setOutcome(null)} />
    ${error ? html`<div class="notice error">${error}</div>` : null}
    ${!data ? html`<p aria-busy="true">Reading the clients…</p>`
      : clients.length === 0 ? html`<${Empty}>${q || state !== 'all' ? 'No client matches.' : 'No client is connected and no session is kept. Clients appear here as they connect.'}<//>`
      : html`<p class="muted small">${data.total > clients.length ? `${clients.length} of ${fmtNumber(data.total)} shown` : `${fmtNumber(data.total)} in all`}.</p>
        <div class="table-wrap"><table class="responsive striped" id="clients">
          <thead><tr><th>Client ID</th><th>State</th><th>Username</th><th>Address</th><th>Protocol</th><th>Since</th><th>Subscriptions</th><th>Queued</th><th></th></tr></thead>
          <tbody>${clients.map((c) => html`<tr data-client=${c.client_id}>
            <td data-label="Client ID"><code class="wrap">${c.client_id}</code></td>
            <td data-label="State"><${Badge} state=${c.connected ? 'connected' : 'offline'} />${c.internal ? html` <span class="muted small">internal</span>` : null}</td>
            <td data-label="Username">${c.username || html`<span class="muted">–</span>`}</td>
            <td data-label="Address"><span>${c.connected ? html`${c.address}${c.listener_port ? html` <span class="muted small">port ${c.listener_port}</span>` : null}` : html`<span class="muted">${c.expires_in == null ? 'kept' : `expires in ${fmtDuration(c.expires_in)}`}</span>`}</span></td>
            <td data-label="Protocol">MQTT ${c.protocol}</td>
            <td data-label="Since">${fmtTime(c.connected_since)}</td>
            <td data-label="Subscriptions">${c.subscriptions.length
              ? html`<details class="subs"><summary>${c.subscriptions.length}</summary>
                  ${c.subscriptions.map((s) => html`<div><code>${s.filter}</code> QoS ${s.qos}</div>`)}</details>`
              : '0'}</td>
            <td data-label="Queued">${fmtNumber(c.queued)}${c.inflight ? ` (+${c.inflight} in flight)` : ''}</td>
            <td class="row-actions">${c.internal ? null : html`<button class="danger outline small" data-action="disconnect"
              onClick=${() => disconnect(c)}>${c.connected ? 'Disconnect' : 'Remove session'}</button>`}</td>
          </tr>`)}</tbody>
        </table></div>`}
    ${dialog}`;
}
