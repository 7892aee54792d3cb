// The status page: it polls this peer's admin API and renders what it
// answers. Every value from the API goes into the page as text, never as
// markup: pin names are whatever users chose.
'use strict';

const POLL_MS = 2000;
const PAGE_SIZE = 50;

const view = {
  self: null, // GET /id: the peer serving this page
  peers: [], // GET /peers
  names: new Map(), // peer ID -> peer name
  freespace: new Map(), // peer ID -> bytes, from current heartbeats
  alive: new Set(), // peer IDs whose heartbeat is current
  alerts: [],
  skew: 0, // server clock minus this browser's, when they disagree
  failures: new Map(), // section -> error message of its last attempt
  updated: null,
};

const pins = { cursors: [''], page: 0, query: '', generation: 0, last: null };

// --- DOM helpers ---------------------------------------------------------

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) e.append(c);
  }
  return e;
}

const byId = (id) => document.getElementById(id);

function setText(id, text, cls) {
  const e = byId(id);
  e.textContent = text;
  if (cls !== undefined) e.className = e.className.replace(/\b(good|bad)\b/g, '').trim() + (cls ? ' ' + cls : '');
}

function fillBody(table, rows, emptyText) {
  const body = byId(table).tBodies[0];
  const cols = byId(table).tHead.rows[0].cells.length;
  if (rows.length === 0) rows = [h('tr', { class: 'empty' }, h('td', { colspan: cols }, emptyText))];
  body.replaceChildren(...rows);
}

const badge = (text, cls, title) => h('span', { class: 'badge ' + (cls || ''), title }, text);
const chip = (cls, title, ...content) => h('span', { class: 'chip ' + (cls || ''), title }, ...content);

// --- formatting ----------------------------------------------------------

const nf = new Intl.NumberFormat('en-US');
const num = (n) => (typeof n === 'number' ? nf.format(n) : '–');

function bytes(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
}

function ago(when) {
  const t = typeof when === 'number' ? when : Date.parse(when);
  if (!t || t <= 0) return 'never';
  const s = Math.max(0, (Date.now() + view.skew - t) / 1000);
  if (s < 10) return s.toFixed(1) + ' s ago';
  if (s < 90) return Math.round(s) + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

const shortID = (id) => (id && id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-6) : id || '–');
const shortCid = (c) => (c.length > 24 ? c.slice(0, 12) + '…' + c.slice(-8) : c);
const peerName = (id) => view.names.get(id) || shortID(id);
const byName = (a, b) => a.localeCompare(b, 'en', { numeric: true });

function replication(min, max) {
  if (min === -1 && max === -1) return 'every peer';
  if (min === max) return String(min);
  return (min === -1 ? 'all' : min) + '–' + (max === -1 ? 'all' : max);
}

const roleClass = { leader: 'lead', voter: 'info', 'non-voter': '', follower: 'follow' };

const statusClass = {
  pinned: 'ok', pinning: 'info', pin_queued: 'info', unpinning: 'warn', unpin_queued: 'warn',
  pin_error: 'err', unpin_error: 'err', cluster_error: 'err', unexpectedly_unpinned: 'err',
  remote: 'quiet', unpinned: '',
};
const statusLabel = (s) => s.replace(/_/g, ' ');

// The order the pin counts of a peer are shown in; others follow.
const countOrder = ['pinned', 'pinning', 'pin_queued', 'pin_error', 'unpinning', 'unpin_queued', 'unpin_error'];

// --- fetching ------------------------------------------------------------

async function request(path) {
  // From the origin, not the page's URL, which may carry user:password@ that
  // fetch refuses; the browser still sends the credentials it was given.
  const res = await fetch(new URL(path, location.origin), { headers: { Accept: 'application/json' }, cache: 'no-store' });
  const date = Date.parse(res.headers.get('Date') || '');
  if (date) {
    // The Date header has whole seconds: only a larger gap is a real skew.
    const gap = date - Date.now();
    view.skew = Math.abs(gap) > 2000 ? gap : 0;
  }
  if (res.status === 401) throw new Error('not authorized: reload the page to sign in');
  if (!res.ok) {
    let msg = res.status + ' ' + res.statusText;
    try { msg = (await res.json()).message || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

async function getJSON(path) {
  const res = await request(path);
  return res.status === 204 ? null : res.json();
}

async function getNDJSON(path) {
  const res = await request(path);
  const text = res.status === 204 ? '' : await res.text();
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

// every runs fn now and again ms after each run ends, so that a slow
// answer never stacks requests.
function every(ms, section, fn) {
  const run = async () => {
    try {
      await fn();
      view.failures.delete(section);
    } catch (err) {
      view.failures.set(section, err.message || String(err));
    }
    renderLive();
    setTimeout(run, ms);
  };
  run();
}

// --- cluster: peers, raft, summary ----------------------------------------

async function refreshCluster() {
  const [self, peers, free, ping] = await Promise.all([
    getJSON('/id'), getNDJSON('/peers'),
    getJSON('/monitor/metrics/freespace'), getJSON('/monitor/metrics/ping'),
  ]);
  view.self = self;
  view.peers = peers.sort((a, b) => byName(a.peername || a.id, b.peername || b.id) || byName(a.id, b.id));
  for (const p of peers) view.names.set(p.id, p.peername || shortID(p.id));
  view.freespace = new Map((free || []).map((m) => [m.peer, Number(m.value)]));
  view.alive = new Set((ping || []).map((m) => m.peer));
  view.updated = new Date();
  renderPeers();
  renderRaft();
  // The other sections name peers and tell who is silent: show them with
  // what was just learnt rather than at their next refresh.
  renderAlerts();
  if (pins.last) renderPins(pins.last);
}

function peerState(p) {
  if (p.error) return { text: 'down', cls: 'err' };
  if (!view.alive.has(p.id)) return { text: 'no heartbeat', cls: 'warn' };
  return { text: 'up', cls: 'ok' };
}

function pinCounts(p) {
  const counts = p.pins_by_status || {};
  const keys = Object.keys(counts).sort((a, b) => {
    const ia = countOrder.indexOf(a), ib = countOrder.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  if (keys.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('div', { class: 'chips' },
    keys.map((k) => chip(statusClass[k], null, statusLabel(k), h('b', null, num(counts[k])))));
}

function renderPeers() {
  const selfID = view.self && view.self.id;
  let up = 0;
  const rows = view.peers.map((p) => {
    const st = peerState(p);
    if (st.text === 'up') up++;
    const down = Boolean(p.error);
    const ipfs = down ? h('span', { class: 'muted' }, '–')
      : p.ipfs && p.ipfs.error ? badge('unreachable', 'err dot', p.ipfs.error) : badge('reachable', 'ok dot');
    return h('tr', { class: down ? 'down' : null, 'data-peer-id': p.id, 'data-state': st.text },
      h('td', null,
        h('span', { class: 'strong' }, p.peername || shortID(p.id)),
        p.id === selfID ? h('span', { class: 'self-tag' }, '(this peer)') : null,
        down ? h('div', { class: 'error-line', title: p.error }, p.error) : null),
      h('td', { class: 'mono', title: p.id }, shortID(p.id)),
      h('td', null, badge(p.role || 'unknown', roleClass[p.role] || '')),
      h('td', { 'data-field': 'state' }, badge(st.text, st.cls + ' dot')),
      h('td', null, ipfs),
      h('td', { class: 'num' }, view.freespace.has(p.id) ? bytes(view.freespace.get(p.id)) : '–'),
      h('td', null, down ? h('span', { class: 'muted' }, '–') : pinCounts(p)),
      h('td', { class: 'num' }, down ? '–' : num(p.raft && p.raft.applied_index)),
      h('td', { class: 'num' + (view.alive.has(p.id) ? '' : ' bad'), title: p.last_heartbeat || '' },
        ago(p.last_heartbeat)));
  });
  fillBody('peers', rows, 'No peers');
  const total = view.peers.length;
  setText('sum-peers', total ? up + ' / ' + total : '–', total && up < total ? 'bad' : 'good');
  setText('peers-note', total ? total + (total === 1 ? ' member' : ' members') : '');
}

function renderRaft() {
  const self = view.self;
  if (!self) return;
  const r = self.raft || {};
  const roles = {};
  for (const p of view.peers) roles[p.role] = (roles[p.role] || 0) + 1;
  const voters = (roles.leader || 0) + (roles.voter || 0);
  setText('sum-leader', r.leader ? peerName(r.leader) : 'none', r.leader ? '' : 'bad');
  setText('sum-term', num(r.term));
  setText('sum-commit', num(r.commit_index));
  setText('served-by', 'cluster status · served by ' + (self.peername || shortID(self.id)));
  setText('raft-note', 'as ' + (self.peername || shortID(self.id)) + ' sees it');
  const facts = [
    ['This peer', (self.peername || shortID(self.id)) + ' · ' + (r.state || 'unknown')],
    ['Leader', r.leader ? peerName(r.leader) : 'none known'],
    ['Term', num(r.term)],
    ['Commit index', num(r.commit_index)],
    ['Applied index', num(r.applied_index)],
    ['Voters', num(voters)],
    ['Non-voters', num(roles['non-voter'] || 0)],
  ];
  if (roles.follower) facts.push(['Followers', num(roles.follower)]);
  byId('raft').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// --- alerts ----------------------------------------------------------------

const ALERTS_SHOWN = 8;

async function refreshAlerts() {
  view.alerts = (await getJSON('/health/alerts')) || [];
  renderAlerts();
}

function renderAlerts() {
  // An alert stays in the history. The peer says which alerts are active
  // (only a peer's latest, while it is silent); a peer of an older build
  // does not, and then an alert is active while its peer, still a member,
  // is silent.
  const members = new Set(view.peers.map((p) => p.id));
  const active = (a) => (typeof a.active === 'boolean' ? a.active : members.has(a.peer) && !view.alive.has(a.peer));
  const cleared = (a) => badge('cleared', 'ok', a.cleared_at ? 'cleared ' + ago(a.cleared_at) + ' (' + a.cleared_at + ')' : null);
  const activePeers = new Set(view.alerts.filter(active).map((a) => a.peer));
  const rows = view.alerts.slice(0, ALERTS_SHOWN).map((a) =>
    h('tr', { 'data-peer-id': a.peer },
      h('td', null, h('span', { class: 'strong' }, peerName(a.peer))),
      h('td', null, a.name === 'ping' ? 'heartbeat' : a.name),
      h('td', { class: 'nowrap', title: a.triggered_at }, ago(a.triggered_at)),
      h('td', null, active(a) ? badge('active', 'err dot') : cleared(a))));
  fillBody('alerts', rows, 'No alerts: every peer has kept its heartbeat.');
  setText('sum-alerts', num(activePeers.size), activePeers.size ? 'bad' : 'good');
  const more = view.alerts.length - ALERTS_SHOWN;
  setText('alerts-note', view.alerts.length ? view.alerts.length + ' raised' + (more > 0 ? ', latest ' + ALERTS_SHOWN + ' shown' : '') : '');
}

// --- pins ------------------------------------------------------------------

async function refreshPins() {
  const generation = pins.generation;
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (pins.cursors[pins.page]) q.set('after', pins.cursors[pins.page]);
  if (pins.query) q.set('q', pins.query);
  const page = await getJSON('/ui/pins?' + q);
  if (generation !== pins.generation) return; // the search or the page changed meanwhile
  pins.cursors.length = pins.page + 1;
  if (page.next) pins.cursors.push(page.next);
  pins.last = page;
  renderPins(page);
}

function pinStatuses(pin) {
  const ids = Object.keys(pin.peer_map || {});
  const order = view.peers.map((p) => p.id);
  const allocated = new Set(pin.allocations || []);
  ids.sort((a, b) => (allocated.has(b) - allocated.has(a)) || (order.indexOf(a) - order.indexOf(b)));
  return h('div', { class: 'chips' }, ids.map((id) => {
    const st = pin.peer_map[id];
    return chip(statusClass[st.status] || '', st.error || null, peerName(id), h('b', null, statusLabel(st.status)));
  }));
}

function renderPins(page) {
  const rows = page.pins.map((pin) =>
    h('tr', { 'data-cid': pin.cid },
      h('td', { class: 'mono', title: pin.cid }, shortCid(pin.cid)),
      h('td', null, pin.name || h('span', { class: 'muted' }, '–')),
      h('td', { class: 'nowrap' }, replication(pin.replication_factor_min, pin.replication_factor_max)),
      h('td', null, pin.allocations && pin.allocations.length
        ? h('div', { class: 'chips' }, pin.allocations.map(peerName).sort(byName).map((name) => chip('', null, name)))
        : h('span', { class: 'muted' }, 'every peer')),
      h('td', null, pinStatuses(pin))));
  const searching = pins.query !== '';
  fillBody('pins', rows, searching ? 'No pin matches “' + pins.query + '”' + (page.next ? ' in this part of the pinset.' : '.') : 'No pins yet.');
  setText('sum-pins', num(page.total));
  let note;
  if (!searching) {
    const first = pins.page * PAGE_SIZE;
    note = page.pins.length ? num(first + 1) + '–' + num(first + page.pins.length) + ' of ' + num(page.total) : num(page.total) + ' pins';
  } else {
    note = num(page.pins.length) + (page.pins.length === 1 ? ' match' : ' matches') + ', ' + num(page.scanned) + ' pins searched';
    if (page.next) note += ' · Next searches further';
  }
  setText('pins-note', note);
  byId('pins-prev').disabled = pins.page === 0;
  byId('pins-next').disabled = !page.next;
}

function goToPage(page) {
  pins.page = page;
  pins.generation++;
  pins.last = null;
  refreshPins().catch((err) => { view.failures.set('pins', err.message); renderLive(); });
}

function setupPins() {
  byId('pins-prev').addEventListener('click', () => goToPage(Math.max(0, pins.page - 1)));
  byId('pins-next').addEventListener('click', () => {
    if (pins.cursors.length > pins.page + 1) goToPage(pins.page + 1);
  });
  let timer = null;
  byId('pin-search').addEventListener('input', (ev) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      pins.query = ev.target.value.trim();
      pins.cursors = [''];
      goToPage(0);
    }, 250);
  });
}

// --- the live indicator -------------------------------------------------------

function renderLive() {
  const live = byId('live');
  if (view.failures.size > 0) {
    const [section, msg] = view.failures.entries().next().value;
    live.dataset.state = 'error';
    byId('live-text').textContent = 'Cannot refresh ' + section + ': ' + msg;
    return;
  }
  if (!view.updated) return;
  live.dataset.state = 'live';
  byId('live-text').textContent = 'Live · updated ' + view.updated.toLocaleTimeString();
}

document.addEventListener('DOMContentLoaded', () => {
  setupPins();
  every(POLL_MS, 'peers', refreshCluster);
  every(POLL_MS, 'alerts', refreshAlerts);
  every(POLL_MS, 'pins', refreshPins);
});
