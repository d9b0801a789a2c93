// The Sluice dashboard. Plain script, no build step; it holds no secrets: the token the
// user pastes is kept in this tab's sessionStorage and sent as a bearer token to
// /v1/dashboard/* (read) and /v1/admin/* (the admin API, for changes). Every value
// from the service goes into the page as text (textContent), never as HTML.
'use strict';
(() => {
  const TOKEN_KEY = 'sluice.dashboard.token';
  const POLL_MS = 1000;
  const POLICY_POLL_MS = 5000;
  const FLEET_POLL_MS = 2000;
  const COLORS = { allowed: '#2e8b57', refused: '#c62828', dropped: '#ef8f00' };

  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem(TOKEN_KEY) || '', canWrite: false, charts: new Map(), timers: [], rules: [], stepMs: 1000, points: 300 };

  /** Builds an element; children are nodes or strings (as text). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else if (k === 'onclick') e.addEventListener('click', v);
      else e[k] = v;
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.error ? body.error.message : `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${state.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    const text = await r.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!r.ok) throw new ApiError(r.status, parsed);
    return parsed;
  }

  // ---------------------------------------------------------------- sign in / out

  async function signIn(token) {
    state.token = token;
    let who;
    try {
      who = await api('GET', '/v1/dashboard/whoami');
    } catch (e) {
      state.token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      $('login-error').textContent = e.status === 401 ? 'That token is not valid.' : `The service answered: ${e.message}`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    state.canWrite = who.canWrite;
    document.body.classList.toggle('can-write', who.canWrite);
    $('login').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    $('role').hidden = false;
    $('role').textContent = who.canWrite ? 'admin' : 'read only';
    $('instance').textContent = who.instance;
    $('login-error').textContent = '';
    startPolling();
  }

  function signOut() {
    for (const t of state.timers) clearInterval(t);
    state.timers = [];
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    for (const c of state.charts.values()) c.plot.destroy();
    state.charts.clear();
    $('charts').replaceChildren();
    for (const id of ['top-table', 'rules-table', 'overrides-table', 'reloads-table', 'inspect-table', 'fleet-table', 'fleet-top']) $(id).tBodies[0].replaceChildren();
    $('fleet').hidden = true;
    $('health-list').replaceChildren();
    document.body.classList.remove('can-write');
    $('app').hidden = true;
    $('login').hidden = false;
    $('sign-out').hidden = true;
    $('role').hidden = true;
    $('instance').textContent = '';
    $('policy-source').textContent = '';
  }

  function startPolling() {
    const every = (ms, f) => {
      f();
      state.timers.push(setInterval(f, ms));
    };
    every(POLL_MS, () => guard(refreshLive));
    every(POLL_MS, () => guard(refreshTop));
    every(POLICY_POLL_MS, () => guard(refreshPolicy));
    every(FLEET_POLL_MS, () => guard(refreshFleet));
  }

  /** Runs a refresh; a token that stopped working signs out, other failures show in the status line. */
  async function guard(f) {
    try {
      await f();
    } catch (e) {
      if (e.status === 401) {
        signOut();
        $('login-error').textContent = 'The token is no longer accepted; paste it again.';
      } else {
        $('live-status').textContent = `update failed: ${e.message}`;
      }
    }
  }

  // ---------------------------------------------------------------- live charts

  async function refreshLive() {
    const live = await api('GET', `/v1/dashboard/live?step=${state.stepMs}&points=${state.points}`);
    $('policy-source').textContent = `policy: ${live.policy.source} (${live.policy.rules} rules)`;
    $('live-status').textContent = `updated ${new Date(live.now).toLocaleTimeString()}`;
    const seen = new Set();
    for (const s of live.rules) {
      const busy = s.totals.allowed + s.totals.refused + s.totals.dropped > 0;
      if (s.rule === 'none' && !busy) continue;
      seen.add(s.rule);
      drawChart(s);
    }
    for (const [rule, c] of state.charts) {
      if (!seen.has(rule)) {
        c.plot.destroy();
        c.box.remove();
        state.charts.delete(rule);
      }
    }
    renderHealth(live.health, live.latency);
    renderReloads(live.reloads);
  }

  function drawChart(s) {
    const xs = s.allowed.map((_, i) => (s.t0 + i * s.stepMs) / 1000);
    const perSecond = (v) => v / (s.stepMs / 1000);
    const data = [xs, s.allowed.map(perSecond), s.refused.map(perSecond), s.dropped.map(perSecond)];
    let c = state.charts.get(s.rule);
    if (!c) {
      const rate = el('span', { class: 'rate muted' });
      const holder = el('div');
      const box = el('div', { class: 'chart', 'data-rule': s.rule }, el('h3', {}, s.rule, ' ', rate), holder);
      $('charts').append(box);
      const width = Math.max(320, box.clientWidth);
      const plot = new uPlot(
        {
          width,
          height: 180,
          scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
          series: [{}, ...['allowed', 'refused', 'dropped'].map((f) => ({ label: f, stroke: COLORS[f], width: 1.5, points: { show: false } }))],
          axes: [{}, { label: 'per second', size: 60 }],
          legend: { live: false },
        },
        data,
        holder,
      );
      c = { plot, box, rate };
      state.charts.set(s.rule, c);
    } else {
      c.plot.setData(data);
    }
    // The totals in the window, as attributes: what the page shows, for people and for tests.
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    const last = (a) => (a.length >= 2 ? a[a.length - 2] : 0); // the last complete slot
    c.box.setAttribute('data-allowed', String(sum(s.allowed)));
    c.box.setAttribute('data-refused', String(sum(s.refused)));
    c.box.setAttribute('data-dropped', String(sum(s.dropped)));
    c.rate.textContent = `now ${fmt(perSecond(last(s.allowed)))} allowed/s · ${fmt(perSecond(last(s.refused)))} refused/s · ${fmt(perSecond(last(s.dropped)))} dropped/s`;
  }

  function fmt(n) {
    return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
  }

  // ---------------------------------------------------------------- top refused keys

  async function refreshTop() {
    const top = await api('GET', '/v1/dashboard/top?n=10');
    const select = $('top-rule');
    const chosen = select.value;
    const names = Object.keys(top.rules);
    if ([...select.options].slice(1).map((o) => o.value).join('\n') !== names.join('\n')) {
      select.replaceChildren(el('option', { value: '' }, 'all rules'), ...names.map((n) => el('option', { value: n }, n)));
      select.value = names.includes(chosen) ? chosen : '';
    }
    const list = select.value ? top.rules[select.value] || [] : top.overall;
    $('top-table').tBodies[0].replaceChildren(
      ...list.map((k) =>
        el(
          'tr',
          { 'data-state-key': k.stateKey },
          el('td', {}, k.rule),
          el('td', { class: 'key' }, keyText(k.key)),
          el('td', { class: 'num' }, String(k.count), k.error ? el('span', { class: 'muted' }, ` ±${k.error}`) : ''),
          el('td', {}, usageText(k.usage)),
          el('td', { class: 'admin-only' }, el('button', { type: 'button', onclick: () => resetKey(k) }, 'Reset…')),
        ),
      ),
    );
  }

  function keyText(key) {
    const parts = Object.entries(key).map(([a, v]) => `${a}=${v}`);
    return parts.length ? parts.join(', ') : '(one shared key)';
  }

  function usageText(u) {
    if (!u) return el('span', { class: 'muted' }, 'n/a');
    // used is the real count: past the limit for a key that went past it (a byte quota crossed, a charge_rejected rule hammered).
    const text = u.over ? `${fmt(u.used)} / ${u.limit} used, ${fmt(u.used - u.limit)} over the limit` : `${fmt(u.used)} / ${u.limit} used, ${fmt(u.remaining)} left`;
    if (u.blocked) return el('span', { class: 'bad' }, `${text}; blocked for ${Math.ceil(u.retryAfterMs / 1000)} s`);
    return u.over ? el('span', { class: 'bad' }, text) : text;
  }

  // ---------------------------------------------------------------- health, policy, reloads

  function renderHealth(h, l) {
    const ms = (v) => (v === null ? '–' : `${v} ms`);
    const rows = [
      ['store', h.store],
      ['keys tracked', h.keysTracked === null ? 'unknown' : String(h.keysTracked)],
      ['circuit breaker', `${h.circuit}${h.circuitTrips ? ` (opened ${h.circuitTrips}×)` : ''}`],
      ['decisions that skipped the store', String(h.shortCircuited ?? 0)],
      ['store errors', String(h.storeErrors)],
      ['fallback decisions', String(h.fallbackDecisions)],
      ['refused for store failure (503)', String(h.closedDecisions)],
      ['decisions, last minute', String(l.count)],
      ['latency p50 / p90', `${ms(l.p50Ms)} / ${ms(l.p90Ms)}`],
      ['latency p99 / p99.9', `${ms(l.p99Ms)} / ${ms(l.p999Ms)}`],
    ];
    if (h.storeError) rows.push(['store error now', h.storeError]);
    $('health-list').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)]));
  }

  function renderReloads(reloads) {
    $('reloads-table').tBodies[0].replaceChildren(
      ...reloads.map((r) =>
        el('tr', {}, el('td', {}, new Date(r.at).toLocaleString()), el('td', { class: r.ok ? 'ok' : 'bad' }, r.ok ? 'loaded' : 'refused'), el('td', {}, r.who || ''), el('td', {}, r.trigger || ''), el('td', {}, r.rules ?? ''), el('td', {}, r.message ? r.message.slice(0, 300) : '')),
      ),
    );
  }

  async function refreshPolicy() {
    const [policy, overrides] = await Promise.all([api('GET', '/v1/admin/policy'), api('GET', '/v1/admin/overrides')]);
    state.rules = policy.rules;
    $('rules-table').tBodies[0].replaceChildren(
      ...policy.rules.map((r) =>
        el('tr', {}, el('td', {}, r.name, r.shadow ? el('span', { class: 'muted' }, ' (shadow)') : ''), el('td', {}, r.key.join(', ') || '–'), el('td', {}, r.algorithm), el('td', {}, `${r.limit}/${r.window}`), el('td', {}, r.action), el('td', {}, String(r.status)), el('td', {}, r.onStoreError)),
      ),
    );
    const all = [...overrides.overrides, ...overrides.policy];
    $('overrides-table').tBodies[0].replaceChildren(
      ...all.map((o) =>
        el(
          'tr',
          {},
          el('td', {}, o.rule),
          el('td', {}, keyText(o.key)),
          el('td', {}, o.limit),
          el('td', {}, o.expires ? new Date(o.expires).toLocaleString() : 'never'),
          el('td', {}, o.reason || ''),
          el('td', {}, o.source),
          el('td', { class: 'admin-only' }, o.source === 'store' ? el('button', { type: 'button', onclick: () => removeOverride(o) }, 'Remove…') : ''),
        ),
      ),
    );
    const select = $('ov-rule');
    const names = policy.rules.map((r) => r.name);
    if ([...select.options].map((o) => o.value).join('\n') !== names.join('\n')) {
      const chosen = select.value;
      select.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
      if (names.includes(chosen)) select.value = chosen;
    }
  }

  // ---------------------------------------------------------------- fleet

  async function refreshFleet() {
    const f = await api('GET', '/v1/dashboard/fleet');
    $('fleet').hidden = !f.enabled;
    if (!f.enabled) return;
    const sums = (lastMinute) => Object.values(lastMinute).reduce((t, r) => ({ allowed: t.allowed + r.allowed, refused: t.refused + r.refused, dropped: t.dropped + r.dropped }), { allowed: 0, refused: 0, dropped: 0 });
    const row = (name, seen, t, attrs) => el('tr', attrs || {}, el('td', {}, name), el('td', {}, seen), el('td', { class: 'num' }, String(t.allowed)), el('td', { class: 'num' }, String(t.refused)), el('td', { class: 'num' }, String(t.dropped)));
    const total = { allowed: 0, refused: 0, dropped: 0 };
    const rows = f.instances.map((i) => {
      const t = sums(i.lastMinute);
      for (const k of Object.keys(total)) total[k] += t[k];
      return row(i.instance === f.instance ? `${i.instance} (this one)` : i.instance, new Date(i.at).toLocaleTimeString(), t);
    });
    $('fleet-table').tBodies[0].replaceChildren(...rows);
    $('fleet-table').tFoot.replaceChildren(row(`fleet (${f.instances.length} instances)`, '', total, { class: 'total' }));
    $('fleet-top').tBodies[0].replaceChildren(...f.top.slice(0, 10).map((k) => el('tr', {}, el('td', {}, k.rule), el('td', {}, keyText(k.key)), el('td', { class: 'num' }, String(k.count)), el('td', { class: 'num' }, String(k.instances)))));
  }

  // ---------------------------------------------------------------- inspector

  function readJson(id, what) {
    const text = $(id).value.trim();
    let v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error(`${what} is not valid JSON: ${e.message}`, { cause: e });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be a JSON object such as {"account": "acme"}`);
    return v;
  }

  async function inspectSubject(ev) {
    ev.preventDefault();
    $('inspect-error').textContent = '';
    try {
      const subject = readJson('inspect-subject', 'the subject');
      const r = await api('POST', '/v1/admin/inspect', { subject });
      if (r.rules.length === 0) $('inspect-error').textContent = 'No rule matches this subject.';
      $('inspect-table').tBodies[0].replaceChildren(
        ...r.rules.map((u) =>
          el('tr', {}, el('td', {}, u.rule), el('td', {}, el('code', {}, u.key)), el('td', { class: 'num' }, fmt(u.used)), el('td', { class: 'num' }, String(u.limit)), el('td', { class: 'num' }, fmt(u.remaining)), el('td', {}, u.blocked ? `yes, ${Math.ceil(u.blockedForMs / 1000)} s` : 'no'), el('td', {}, u.override || '')),
        ),
      );
    } catch (e) {
      $('inspect-error').textContent = e.message;
    }
  }

  // ---------------------------------------------------------------- changes (admin)

  /** Asks the user to confirm a change in a modal dialog; resolves true only on "Confirm". */
  function confirmChange(text) {
    const d = $('confirm');
    $('confirm-text').textContent = text;
    return new Promise((resolve) => {
      const done = (ok) => {
        $('confirm-ok').removeEventListener('click', yes);
        $('confirm-cancel').removeEventListener('click', no);
        d.removeEventListener('cancel', no);
        d.close();
        resolve(ok);
      };
      const yes = () => done(true);
      const no = () => done(false);
      $('confirm-ok').addEventListener('click', yes);
      $('confirm-cancel').addEventListener('click', no);
      d.addEventListener('cancel', no);
      d.showModal();
    });
  }

  /** Confirms, makes the change, and writes the outcome to the page's change log. */
  async function change(description, run) {
    $('admin-error').textContent = '';
    if (!(await confirmChange(description))) return;
    let line;
    try {
      await run();
      line = el('li', { class: 'ok' }, `${new Date().toLocaleTimeString()} ${description} — done`);
    } catch (e) {
      line = el('li', { class: 'bad' }, `${new Date().toLocaleTimeString()} ${description} — failed: ${e.message}`);
      $('admin-error').textContent = e.message;
    }
    $('change-log').prepend(line);
    guard(refreshPolicy);
    guard(refreshTop);
  }

  async function setOverride(ev) {
    ev.preventDefault();
    let key;
    try {
      key = readJson('ov-key', 'the key');
    } catch (e) {
      $('admin-error').textContent = e.message;
      return;
    }
    const body = { rule: $('ov-rule').value, key, limit: $('ov-limit').value.trim() };
    const ttl = $('ov-ttl').value.trim();
    const reason = $('ov-reason').value.trim();
    if (ttl) body.ttl = ttl;
    if (reason) body.reason = reason;
    await change(`Set the limit of rule "${body.rule}" for ${keyText(key)} to ${body.limit}${ttl ? ` for ${ttl}` : ''}?`, () => api('PUT', '/v1/admin/overrides', body));
  }

  function removeOverride(o) {
    return change(`Remove the override of rule "${o.rule}" for ${keyText(o.key)} (${o.limit})?`, () => api('DELETE', '/v1/admin/overrides', { rule: o.rule, key: o.key }));
  }

  function resetKey(k) {
    const subject = { ...k.key };
    return change(`Reset the usage of ${keyText(k.key)} under rule "${k.rule}"?`, () => api('POST', '/v1/admin/reset', { subject, rules: [k.rule] }));
  }

  async function resetSubject(ev) {
    ev.preventDefault();
    let subject;
    try {
      subject = readJson('reset-subject', 'the subject');
    } catch (e) {
      $('admin-error').textContent = e.message;
      return;
    }
    await change(`Reset the usage of ${keyText(subject)} under every rule it matches?`, () => api('POST', '/v1/admin/reset', { subject }));
  }

  function reloadPolicy() {
    return change('Reload the policy file now?', () => api('POST', '/v1/admin/reload'));
  }

  // ---------------------------------------------------------------- wiring

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    if (t) signIn(t);
  });
  $('sign-out').addEventListener('click', signOut);
  $('resolution').addEventListener('change', () => {
    const [step, points] = $('resolution').value.split(':').map(Number);
    state.stepMs = step;
    state.points = points;
    guard(refreshLive);
  });
  $('top-rule').addEventListener('change', () => guard(refreshTop));
  $('inspect-form').addEventListener('submit', inspectSubject);
  $('override-form').addEventListener('submit', setOverride);
  $('reset-form').addEventListener('submit', resetSubject);
  $('reload-button').addEventListener('click', reloadPolicy);

  if (state.token) signIn(state.token);
})();
