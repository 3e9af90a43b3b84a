// Log: the broker's recent log and its live tail, filtered by level and text.
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { stream } from '../api.js';
import { Empty, PageHeader, fmtTime } from '../ui.js';

const LEVELS = [['error', 'Error'], ['warning', 'Warning and above'], ['notice', 'Notice and above'], ['information', 'Information and above'], ['debug', 'Everything (debug)']];
const MAX_LINES = 2000;

export function LogPage() {
  const [level, setLevel] = useState('information');
  const [lines, setLines] = useState([]);
  const [paused, setPaused] = useState(false);
  const [text, setText] = useState('');
  const [state, setState] = useState('connecting');
  const pausedRef = useRef(false);
  const held = useRef([]);
  const lastSeq = useRef(0);  // a reconnected stream sends the recent lines again
  pausedRef.current = paused;

  useEffect(() => {
    setLines([]);
    held.current = [];
    lastSeq.current = 0;
    setState('connecting');
    const close = stream(`/log/stream?level=${level}`, {
      log: (l) => {
        setState('live');
        if (l.seq <= lastSeq.current) return;
        lastSeq.current = l.seq;
        if (pausedRef.current) { held.current.push(l); return; }
        setLines((old) => { const n = [...old, l]; return n.length > MAX_LINES ? n.slice(n.length - MAX_LINES) : n; });
      },
    }, (closed) => setState(closed ? 'stopped' : 'reconnecting'));
    const t = setTimeout(() => setState((s) => (s === 'connecting' ? 'live' : s)), 1500);
    return () => { clearTimeout(t); close(); };
  }, [level]);

  const resume = () => {
    setPaused(false);
    const more = held.current;
    held.current = [];
    setLines((old) => { const n = [...old, ...more]; return n.length > MAX_LINES ? n.slice(n.length - MAX_LINES) : n; });
  };

  const shown = text ? lines.filter((l) => l.text.toLowerCase().includes(text.toLowerCase())) : lines;
  const newestFirst = shown.slice().reverse();
  return html`
    <${PageHeader} title="Log" intro="The broker's log, newest first, as it is written." />
    <div class="toolbar">
      <select name="level" value=${level} aria-label="Level" onChange=${(e) => setLevel(e.target.value)}>
        ${LEVELS.map(([v, t]) => html`<option value=${v} selected=${v === level}>${t}</option>`)}
      </select>
      <input type="search" name="log-filter" placeholder="Filter text" value=${text} aria-label="Filter text" onInput=${(e) => setText(e.target.value)} />
      ${paused ? html`<button class="secondary" onClick=${resume}>Resume (${held.current.length})</button>`
        : html`<button class="secondary outline" onClick=${() => setPaused(true)}>Pause</button>`}
      <button class="secondary outline" onClick=${() => setLines([])}>Clear</button>
    </div>
    <p class="muted small" id="log-state">${state === 'live' ? (paused ? 'Paused: new lines are held.' : 'Live.') : state === 'stopped' ? 'The live tail stopped; reload the page to restart it.' : state === 'reconnecting' ? 'The connection to the broker was lost: reconnecting…' : 'Connecting…'}
      ${' '}${shown.length} line${shown.length === 1 ? '' : 's'} shown. The log level the broker writes is set on the Broker page.</p>
    ${shown.length === 0 ? html`<${Empty}>${text ? 'No line matches the filter.' : 'No log line at this level yet.'}<//>`
      : html`<div class="log" id="log-lines">${newestFirst.map((l) => html`<div class=${`log-line lvl-${l.level}`} key=${l.seq}>
          <span class="log-time">${fmtTime(l.time)}</span><span class="log-level">${l.level}</span><span class="log-text">${l.text}</span>
        </div>`)}</div>`}`;
}
