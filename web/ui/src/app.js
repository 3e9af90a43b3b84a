// Petrel's admin: the login, the menu and the page chosen by the URL's #fragment.
import { html, render, useEffect, useState } from './vendor/preact-htm.js';
import { ApiError, get, onSessionLost, post, setCsrfToken } from './api.js';
import { StatusPage } from './pages/status.js';
import { BrokerPage } from './pages/broker.js';
import { BridgesPage } from './pages/bridges.js';
import { ClientsPage } from './pages/clients.js';
import { TopicsPage } from './pages/topics.js';
import { LogPage } from './pages/log.js';

const ICON = new URL('./icon.svg', import.meta.url).href;

const MENU = [
  { path: 'status', title: 'Status', page: StatusPage },
  { group: 'Configuration' },
  { path: 'broker', title: 'Broker', page: BrokerPage },
  { path: 'bridges', title: 'Bridges', page: BridgesPage },
  { group: 'Monitoring' },
  { path: 'clients', title: 'Clients', page: ClientsPage },
  { path: 'topics', title: 'Topics', page: TopicsPage },
  { path: 'log', title: 'Log', page: LogPage },
];

// "#/bridges/edit/office1" -> ["bridges", "edit", "office1"]
function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return parts[0] ? parts : ['status'];
}

function useHash() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const f = () => setRoute(parseHash());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return route;
}

function Login({ onLogin, reason }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post('/login', { username, password });
      setCsrfToken(r.csrf_token);
      onLogin(r.username);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('Wrong username or password.');
      else if (err instanceof ApiError && err.status === 429) setError('Too many failed logins from this address: wait a minute and try again.');
      else setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <article>
      <header class="login-brand">
        <img src=${ICON} alt="" class="logo" />
        <div><strong>Petrel</strong><span>MQTT Broker</span></div>
      </header>
      ${reason ? html`<p class="notice info">${reason}</p>` : null}
      <form onSubmit=${submit}>
        <label>Username
          <input name="username" autocomplete="username" value=${username} required
            onInput=${(e) => setUsername(e.target.value)} /></label>
        <label>Password
          <input name="password" type="password" autocomplete="current-password" value=${password} required
            aria-invalid=${error ? 'true' : undefined} onInput=${(e) => setPassword(e.target.value)} /></label>
        ${error ? html`<p class="field-error" id="login-error" role="alert">${error}</p>` : null}
        <button type="submit" aria-busy=${busy ? 'true' : undefined} disabled=${busy}>Log in</button>
      </form>
      <p class="muted small">The first start of petrel with its embedded configuration prints the user
        <code>admin</code> and a generated password once in its log.</p>
    </article>
  </main>`;
}

function Shell({ user, onLogout }) {
  const route = useHash();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => { setMenuOpen(false); window.scrollTo(0, 0); }, [route.join('/')]);
  const entry = MENU.find((m) => m.path === route[0]) || MENU[0];
  useEffect(() => { document.title = `${entry.title} – Petrel`; }, [entry]);
  const Page = entry.page;
  return html`<div class="shell">
    <header class="topbar">
      <button class="menu-toggle secondary outline" aria-expanded=${menuOpen ? 'true' : 'false'}
        aria-controls="menu" onClick=${() => setMenuOpen(!menuOpen)}>☰<span class="sr"> Menu</span></button>
      <a class="brand" href="#/status"><img src=${ICON} alt="" class="logo" />
        <strong>Petrel</strong><span class="brand-sub">MQTT Broker</span></a>
      <span class="crumb">${entry.title}</span>
      <div class="user"><span class="who">${user}</span>
        <button class="secondary outline small" id="logout" onClick=${onLogout}>Log out</button></div>
    </header>
    <div class="frame">
      <nav id="menu" class=${`menu ${menuOpen ? 'open' : ''}`} aria-label="Pages">
        ${MENU.map((m) => m.group
          ? html`<div class="menu-group">${m.group}</div>`
          : html`<a href=${`#/${m.path}`} class="menu-item" aria-current=${m === entry ? 'page' : undefined}>${m.title}</a>`)}
      </nav>
      <main class="content" id="page" data-page=${entry.path}>
        <${Page} key=${entry.path} route=${route} />
      </main>
    </div>
  </div>`;
}

function App() {
  // undefined: asking; null: logged out; string: the user
  const [user, setUser] = useState(undefined);
  const [reason, setReason] = useState(null);
  useEffect(() => {
    onSessionLost(() => {
      setUser((u) => {
        if (u) setReason('Your session ended: log in again.');
        return null;
      });
    });
    get('/session').then((s) => {
      setCsrfToken(s.csrf_token);
      setUser(s.username);
    }).catch(() => setUser(null));
  }, []);
  if (user === undefined) return html`<p class="boot" aria-busy="true">Loading the Petrel admin…</p>`;
  if (!user) return html`<${Login} reason=${reason} onLogin=${(u) => { setReason(null); setUser(u); }} />`;
  const logout = async () => {
    try { await post('/logout'); } catch (e) { /* the session is gone either way */ }
    setCsrfToken(null);
    setReason('You are logged out.');
    setUser(null);
  };
  return html`<${Shell} user=${user} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
