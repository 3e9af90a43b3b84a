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

// A server-sent event stream: handlers maps event names to f(parsedData). The browser
// reconnects by itself after a network error; a stream the server refused (401, 400)
// is reported through onError and stays closed. Returns a function that closes it.
export function stream(path, handlers, onError = () => {}) {
  const es = new EventSource(BASE + path);
  for (const [name, f] of Object.entries(handlers)) {
    es.addEventListener(name, (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      f(data);
    });
  }
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      onError();
      // Whether the session ended: a 401 on the next call reports it.
      get('/session').catch(() => {});
    }
  };
  return () => es.close();
}

// Encodes each level of a topic for a {topic...} path ("a/b c/d" -> "a/b%20c/d").
export function topicPath(topic) {
  return topic.split('/').map(encodeURIComponent).join('/');
}
