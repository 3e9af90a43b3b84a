// The admin API (/api/petrel/v1): JSON over fetch with the session cookie, the session's
// CSRF token on every change, and server-sent event streams.
const BASE = '/api/petrel/v1';
let csrfToken = null;
let sessionLost = () => {};

export function setCsrfToken(token) { csrfToken = token; }
// Called when a request answers 401: the session ended (idle, logout elsewhere, restart).
export function onSessionLost(f) { sessionLost = f; }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the broker answered HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  // {field: message} for a 400 with field errors.
  get fields() {
    const out = {};
    for (const f of this.body.fields || []) out[f.field] = out[f.field] ? `${out[f.field]}; ${f.message}` : f.message;
    return out;
  }
}

export async function request(method, path, body) {
  const headers = { 'X-Requested-With': 'petrel-ui', Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(BASE + path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: 'the broker cannot be reached (is petrel running?)' });
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
  }
  if (res.status === 401 && path !== '/login') sessionLost();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body = {}) => request('POST', path, body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

// A server-sent event stream: handlers maps event names to f(parsedData). When the
// connection breaks, onError(false) and a new try every few seconds; when the server
// refuses the stream (a bad request, or the session ended), onError(true) and no more.
// The browser's own reconnection is not used: a stream request answered 401 (the session
// ended meanwhile) would make it ask for a password in a dialog, so the session is checked
// with fetch() first. Returns a function that closes the stream.
export function stream(path, handlers, onError = () => {}) {
  let es = null;
  let stopped = false;
  let timer = null;
  const retry = () => { timer = setTimeout(check, 3000); };
  const check = async () => {
    try {
      await get('/session');
    } catch (e) {
      if (e.status === 401) { stopped = true; onError(true); return; }  // back to the login
      if (!stopped) retry();  // the broker cannot be reached: try again
      return;
    }
    if (!stopped) open(true);
  };
  const open = (again) => {
    let opened = false;
    es = new EventSource(BASE + path);
    es.onopen = () => { opened = true; };
    for (const [name, f] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        f(data);
      });
    }
    es.onerror = () => {
      es.close();
      if (stopped) return;
      if (!opened && again) { stopped = true; onError(true); return; }  // refused right after a good session check
      if (opened) onError(false);
      timer = setTimeout(check, opened ? 1000 : 0);
    };
  };
  open(false);
  return () => { stopped = true; clearTimeout(timer); if (es) es.close(); };
}

// Encodes each level of a topic for a {topic...} path ("a/b c/d" -> "a/b%20c/d").
export function topicPath(topic) {
  return topic.split('/').map(encodeURIComponent).join('/');
}
