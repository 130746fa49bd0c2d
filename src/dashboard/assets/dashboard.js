// Agent Platform dashboard: a small client of the public /v1 API. The session is an HttpOnly cookie (an
// opaque server-side session id) this script never sees; state-changing calls carry the page's CSRF
// token. Data is rendered with textContent only (never as HTML).
(() => {
  'use strict';
  const body = document.body;
  const roles = (body.dataset.roles || '').split(',').filter(Boolean);
  const csrf = body.dataset.csrf || '';
  const can = (...wanted) => roles.includes('admin') || wanted.some((r) => roles.includes(r));
  const TERMINAL = ['completed', 'failed', 'canceled'];
  // The run-event catalogue's stored types (src/domain/run-event.ts), given by the run page.
  const EVENT_TYPES = (body.dataset.eventTypes || '').split(',').filter(Boolean);

  async function api(method, path, payload) {
    const headers = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') headers['x-csrf-token'] = csrf;
    const res = await fetch(path, { method, headers, credentials: 'same-origin', body: payload === undefined ? undefined : JSON.stringify(payload) });
    if (res.status === 401) {
      location.assign('/dashboard/login');
      throw new Error('Signed out');
    }
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.error ? `${json.error.message} (${json.error.code})` : `HTTP ${res.status}`);
    return json;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const json = (v) => el('pre', { class: 'json' }, JSON.stringify(v, null, 2));
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
  const badge = (status) => el('span', { class: `badge s-${status}`, 'data-status': status }, status);

  function showError(err) {
    const box = document.getElementById('error');
    if (!box) return;
    box.hidden = !err;
    box.textContent = err ? String(err.message || err) : '';
  }

  // ---- runs list ----------------------------------------------------------------------------------
  async function runsPage() {
    const params = new URLSearchParams(location.search);
    const form = document.getElementById('filters');
    for (const name of ['status', 'created_after']) if (params.get(name)) form.elements[name].value = params.get(name);
    const agentSelect = form.elements.agent;
    const agents = new Map();
    try {
      for (const a of (await api('GET', '/v1/agents?limit=100')).data) {
        agents.set(a.id, a.name);
        agentSelect.append(el('option', { value: a.name }, a.name));
      }
    } catch {
      // Roles that may not read agents (approver) filter by the names they know from the runs.
    }
    if (params.get('agent')) agentSelect.value = params.get('agent');
    const query = new URLSearchParams({ limit: '50' });
    if (params.get('status')) query.set('status', params.get('status'));
    if (params.get('agent')) query.set('agent', params.get('agent'));
    if (params.get('created_after')) query.set('created_after', `${params.get('created_after')}T00:00:00Z`);
    const tbody = document.querySelector('#runs tbody');
    async function refresh() {
      try {
        const list = await api('GET', `/v1/runs?${query}`);
        tbody.replaceChildren(...list.data.map((run) => el('tr', { 'data-run': run.id },
          el('td', {}, el('a', { href: `/dashboard/runs/${run.id}` }, run.id)),
          el('td', {}, agents.get(run.agent_id) || run.agent_id),
          el('td', {}, badge(run.status)),
          el('td', {}, when(run.created_at)),
          el('td', { class: 'num' }, run.usage.steps),
          el('td', { class: 'num' }, run.usage.input_tokens + run.usage.output_tokens),
          el('td', { class: 'num' }, run.usage.cost_usd.toFixed(4)),
        )));
        document.getElementById('runs-empty').hidden = list.data.length > 0;
        showError(null);
      } catch (err) {
        showError(err);
      }
    }
    await refresh();
    setInterval(refresh, 2000);
  }

  // ---- one run: summary, actions and the live timeline --------------------------------------------
  function describe(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case 'step.started': case 'step.completed': return [`step ${d.step}`];
      case 'message.completed': {
        const m = d.message || {};
        const text = (m.content || []).map((c) => c.text || '').join('');
        const calls = (m.tool_calls || []).map((c) => `${c.name}(${JSON.stringify(c.arguments)})`);
        const usage = d.usage ? `${d.usage.input_tokens} in / ${d.usage.output_tokens} out tokens` : '';
        return [text && el('p', { class: 'msg' }, text), calls.length > 0 && el('p', {}, `wants: ${calls.join(', ')}`), el('p', { class: 'muted' }, [d.card, d.model, usage].filter(Boolean).join(' · '))];
      }
      case 'tool_call.requested': return [el('strong', {}, d.tool_call.name), json(d.tool_call.arguments)];
      case 'policy.decided': return [el('strong', {}, `${d.name}: ${d.action}`), ` rule ${d.rule_id || '(default)'}`, d.reason && el('p', {}, d.reason)];
      case 'approval.requested': {
        const a = d.approval || {};
        return [el('strong', {}, `${a.tool_call && a.tool_call.name} needs approval `), el('a', { href: '/dashboard/approvals' }, a.id), a.reason && el('p', {}, a.reason)];
      }
      case 'approval.decided': return [el('strong', {}, `${d.status}`), ` by ${(d.decided_by && d.decided_by.name) || 'policy'}`, (d.comment || d.reason) && el('p', {}, d.comment || d.reason), d.arguments && json(d.arguments)];
      case 'tool_call.started': return [el('strong', {}, d.name), d.arguments && json(d.arguments)];
      case 'tool_call.completed': return [el('strong', {}, d.name), d.cached && ' (cached)', json(d.output)];
      case 'tool_call.failed': return [el('strong', {}, d.name), el('p', { class: 'error' }, `${d.error && d.error.code}: ${d.error && d.error.message}`)];
      case 'tool_call.required': return [el('strong', {}, d.name), json(d.arguments)];
      case 'auth.required': return [el('strong', {}, `${d.name} needs the account ${d.connection} connected`), el('p', { class: 'muted' }, `until ${d.expires_at}`)];
      case 'skill.loaded': return [el('strong', {}, d.skill_id), ` loaded: ${(d.files || []).join(', ')}`];
      case 'run.status_changed': return [`${d.from} → ${d.to}`];
      case 'run.completed': return [d.output_text && el('p', { class: 'msg' }, d.output_text)];
      case 'run.failed': return [el('p', { class: 'error' }, `${d.error && d.error.code}: ${d.error && d.error.message}`)];
      default: return [];
    }
  }

  async function runPage() {
    const id = body.dataset.run;
    const timeline = document.getElementById('timeline');
    const liveText = document.getElementById('live-text');
    const seen = new Set();
    let live = { step: 0, attempt: 0 };
    let run;
    let ended = false;
    let agentName;

    let asked = 0;

    async function refreshRun() {
      const mine = ++asked;
      let fresh;
      try {
        fresh = await api('GET', `/v1/runs/${id}`);
      } catch (err) {
        return showError(err);
      }
      if (mine !== asked) return; // a later look is on its way; an older answer must not overwrite it
      run = fresh;
      // The terminal event can arrive a moment before the run row says so: look again shortly.
      if (ended && !TERMINAL.includes(run.status)) setTimeout(() => void refreshRun(), 300);
      document.getElementById('run-status').replaceChildren(badge(run.status));
      const u = run.usage;
      const rows = [
        ['Status', run.status], ['Agent', `${agentName || run.agent_id} v${run.agent_version}`], ['Session', run.session_id],
        ['Created', when(run.created_at)], ['Completed', when(run.completed_at)],
        ['Usage', `${u.steps} steps · ${u.model_calls} model calls · ${u.tool_calls} tool calls · ${u.input_tokens} in / ${u.output_tokens} out tokens`],
        ['Cost', `$${u.cost_usd.toFixed(4)}`], ['Request id', run.request_id],
      ];
      document.getElementById('run-summary').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k.toLowerCase() }, v || '—')]));
      document.getElementById('run-output').hidden = !run.output_text;
      document.getElementById('output-text').textContent = run.output_text || '';
      const errBox = document.getElementById('run-error');
      errBox.hidden = !run.error;
      errBox.textContent = run.error ? `${run.error.code}: ${run.error.message}` : '';
      const actions = document.getElementById('run-actions');
      const active = !TERMINAL.includes(run.status);
      actions.replaceChildren(...[
        ...(run.pending_approvals || []).map((a) => el('a', { class: 'pending', href: '/dashboard/approvals' }, `Pending approval: ${a.tool_call.name}`)),
        active && can('developer') && el('button', { id: 'cancel-run', class: 'danger', onclick: cancelRun }, 'Cancel run'),
      ].filter(Boolean));
    }

    async function cancelRun() {
      if (!confirm('Cancel this run?')) return;
      try {
        await api('POST', `/v1/runs/${id}/cancel`, { reason: 'Canceled from the dashboard' });
        await refreshRun();
      } catch (err) {
        showError(err);
      }
    }

    function addEvent(ev) {
      if (seen.has(ev.seq)) return;
      seen.add(ev.seq);
      const row = el('li', { class: `ev t-${ev.type.replace(/\./g, '-')}`, 'data-seq': ev.seq, 'data-type': ev.type },
        el('span', { class: 'seq' }, `#${ev.seq}`), el('time', {}, new Date(ev.created_at).toLocaleTimeString()),
        el('span', { class: 'type' }, ev.type), el('div', { class: 'detail' }, describe(ev)));
      const after = [...timeline.children].find((li) => Number(li.dataset.seq) > ev.seq);
      timeline.insertBefore(row, after || null);
      if (ev.type === 'message.completed') {
        liveText.hidden = true;
        liveText.textContent = '';
      }
    }

    function onDelta(d) {
      if (d.step !== live.step || d.attempt !== live.attempt) {
        live = { step: d.step, attempt: d.attempt }; // a retried model call starts its text over
        liveText.textContent = '';
      }
      liveText.hidden = false;
      liveText.textContent += d.text;
    }

    await refreshRun();
    if (run) {
      agentName = await api('GET', `/v1/agents/${run.agent_id}`).then((a) => a.name, () => undefined);
      await refreshRun();
    }
    const stream = new EventSource(`/v1/runs/${id}/events?include=deltas`);
    for (const type of EVENT_TYPES) {
      stream.addEventListener(type, (msg) => {
        const ev = JSON.parse(msg.data);
        addEvent(ev);
        if (['run.status_changed', 'approval.requested', 'approval.decided', 'step.completed'].includes(type)) void refreshRun();
        if (['run.completed', 'run.failed', 'run.canceled'].includes(type)) {
          ended = true;
          stream.close();
          void refreshRun();
        }
      });
    }
    stream.addEventListener('message.delta', (msg) => onDelta(JSON.parse(msg.data).data || {}));
    stream.onerror = () => showError(stream.readyState === EventSource.CLOSED ? new Error('The live stream closed; reload to retry') : null);
    stream.onopen = () => showError(null);
  }

  // ---- approvals inbox ----------------------------------------------------------------------------
  async function approvalsPage() {
    const status = new URLSearchParams(location.search).get('status') || 'pending';
    document.getElementById('approval-filters').elements.status.value = status;
    const list = document.getElementById('approvals');
    const cards = new Map();

    function card(a) {
      const decide = a.status === 'pending' && can('approver');
      const args = el('textarea', { class: 'args', rows: 6, spellcheck: 'false', 'aria-label': 'Arguments (JSON)', readonly: !decide }, JSON.stringify(a.tool_call.arguments, null, 2));
      const comment = el('input', { class: 'comment', placeholder: 'Comment (optional)', 'aria-label': 'Comment' });
      const reason = el('input', { class: 'reason', placeholder: 'Reason (required to deny)', 'aria-label': 'Reason' });
      const note = el('p', { class: 'error', role: 'alert', hidden: true });
      const fail = (msg) => {
        note.hidden = false;
        note.textContent = msg;
      };
      async function approve() {
        let edited;
        try {
          edited = JSON.parse(args.value);
        } catch {
          return fail('The arguments are not valid JSON.');
        }
        const payload = {};
        if (JSON.stringify(edited) !== JSON.stringify(a.tool_call.arguments)) payload.arguments = edited;
        if (comment.value.trim()) payload.comment = comment.value.trim();
        await submit('approve', payload);
      }
      async function deny() {
        if (!reason.value.trim()) return fail('A reason is required to deny.');
        await submit('deny', { reason: reason.value.trim() });
      }
      async function submit(verb, payload) {
        try {
          await api('POST', `/v1/approvals/${a.id}/${verb}`, payload);
          node.classList.add('decided');
          node.replaceChildren(el('p', { class: 'done' }, `${verb === 'approve' ? 'Approved' : 'Denied'}: ${a.tool_call.name} (${a.id})`));
        } catch (err) {
          fail(err.message);
        }
      }
      const node = el('article', { class: 'card', 'data-approval': a.id },
        el('h2', {}, a.tool_call.name, ' ', badge(a.status), ' ', el('span', { class: 'effect' }, a.effect)),
        el('dl', {},
          el('dt', {}, 'Run'), el('dd', {}, el('a', { href: `/dashboard/runs/${a.run_id}` }, a.run_id)),
          el('dt', {}, 'Policy rule'), el('dd', { class: 'rule' }, a.policy_rule_id || '(default)'),
          el('dt', {}, 'Reason'), el('dd', { class: 'why' }, a.reason || ''),
          el('dt', {}, 'Requested'), el('dd', {}, when(a.requested_at)),
          el('dt', {}, 'Expires'), el('dd', {}, when(a.expires_at)),
          a.decided_by && [el('dt', {}, 'Decided by'), el('dd', {}, a.decided_by.name)],
        ),
        el('h3', {}, 'Arguments'), args,
        el('h3', {}, 'Preview (dry run)'), a.preview === null || a.preview === undefined ? el('p', { class: 'muted' }, 'No preview for this tool.') : el('pre', { class: 'json preview' }, JSON.stringify(a.preview, null, 2)),
        decide && el('div', { class: 'decide' },
          comment, el('button', { class: 'approve', onclick: approve }, 'Approve'),
          reason, el('button', { class: 'deny danger', onclick: deny }, 'Deny')),
        note,
      );
      return node;
    }

    async function refresh() {
      try {
        const page = await api('GET', `/v1/approvals?status=${encodeURIComponent(status)}&limit=100`);
        const ids = new Set(page.data.map((a) => a.id));
        // Cards being edited stay as they are; only new approvals are added and vanished ones removed.
        for (const [id, node] of cards) if (!ids.has(id) && !node.classList.contains('decided')) { node.remove(); cards.delete(id); }
        for (const a of page.data) {
          if (cards.has(a.id)) continue;
          const node = card(a);
          cards.set(a.id, node);
          list.append(node);
        }
        document.getElementById('approvals-empty').hidden = cards.size > 0;
        showError(null);
      } catch (err) {
        showError(err);
      }
    }
    await refresh();
    setInterval(refresh, 3000);
  }

  // ---- usage at a glance: GET /v1/usage as totals, SVG bar charts (built with DOM APIs) and a table ---
  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const count = (n) => Number(n).toLocaleString('en-US');
  const usd = (n) => `$${Number(n).toFixed(4)}`;
  const percent = (r) => `${(r * 100).toFixed(1)}%`;
  const shortLabel = (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? s.slice(5) : s.length > 14 ? `${s.slice(0, 13)}…` : s);

  /** One bar per row, its series stacked; each bar's <title> names its figures (the browser shows it on hover). */
  function barChart(title, rows, series, format) {
    const W = 360, H = 190, left = 52, right = 6, top = 10, bottom = 30;
    const totals = rows.map((r) => series.reduce((n, s) => n + s.value(r), 0));
    const max = Math.max(0, ...totals);
    const scale = max > 0 ? (H - top - bottom) / max : 0;
    const slot = (W - left - right) / Math.max(1, rows.length);
    const width = Math.max(1, Math.min(36, slot * 0.75));
    const every = Math.ceil(rows.length / 6); // at most six labels under the axis
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title },
      svg('line', { x1: left, y1: top, x2: W - right, y2: top, class: 'grid-line' }),
      svg('line', { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: 'axis' }),
      svg('text', { x: left - 4, y: top + 4, class: 'tick', 'text-anchor': 'end' }, format(max)),
      svg('text', { x: left - 4, y: H - bottom, class: 'tick', 'text-anchor': 'end' }, format(0)));
    rows.forEach((r, i) => {
      const x = left + i * slot + (slot - width) / 2;
      let y = H - bottom;
      const bar = svg('g', { class: 'bar', 'data-key': r.key }, svg('title', {}, `${r.label}: ${series.map((s) => `${s.label} ${format(s.value(r))}`).join(', ')}`));
      for (const s of series) {
        const h = s.value(r) * scale;
        if (h <= 0) continue;
        y -= h;
        bar.append(svg('rect', { x, y, width, height: h, class: s.class }));
      }
      chart.append(bar);
      if (i % every === 0) chart.append(svg('text', { x: x + width / 2, y: H - bottom + 14, class: 'tick', 'text-anchor': 'middle' }, shortLabel(r.label)));
    });
    return el('figure', { class: 'chart-box', 'data-chart': title },
      el('figcaption', {}, title), chart,
      series.length > 1 && el('p', { class: 'legend' }, series.map((s) => el('span', { class: `swatch ${s.class}` }, s.label))));
  }

  async function usagePage() {
    const params = new URLSearchParams(location.search);
    const form = document.getElementById('usage-filters');
    const query = new URLSearchParams({ group_by: params.get('group_by') || 'day' });
    for (const name of ['from', 'to']) if (params.get(name)) query.set(name, params.get(name));
    form.elements.group_by.value = query.get('group_by');
    const report = await api('GET', `/v1/usage?${query}`);
    // The window the API answered for (its defaults included), as the form's dates; `to` shown inclusive.
    form.elements.from.value = report.from.slice(0, 10);
    form.elements.to.value = new Date(new Date(report.to).getTime() - 1).toISOString().slice(0, 10);
    document.getElementById('usage-window').textContent = `Runs created from ${when(report.from)} to ${when(report.to)}, by ${report.group_by}.`;
    document.getElementById('usage-key').textContent = { day: 'Day (UTC)', agent: 'Agent', model: 'Model' }[report.group_by];

    const t = report.total;
    const tiles = [
      ['Runs', count(t.runs)], ['Failure rate', percent(t.failure_rate)], ['Input tokens', count(t.input_tokens)],
      ['Output tokens', count(t.output_tokens)], ['Cost', usd(t.cost_usd)], ['Tool calls', count(t.tool_calls)],
      ['Approvals', `${count(t.approvals.requested)} (${count(t.approvals.approved)} approved · ${count(t.approvals.denied)} denied · ${count(t.approvals.expired)} expired)`],
    ];
    document.getElementById('usage-totals').replaceChildren(...tiles.map(([k, v]) => el('div', { class: 'tile', 'data-total': k.toLowerCase() }, el('dt', {}, k), el('dd', {}, v))));

    const rows = report.data;
    const otherApprovals = (r) => Math.max(0, r.approvals.requested - r.approvals.approved - r.approvals.denied - r.approvals.expired);
    document.getElementById('usage-charts').replaceChildren(
      barChart('Runs', rows, [{ label: 'not failed', class: 'c-ok', value: (r) => r.runs - r.failed_runs }, { label: 'failed', class: 'c-bad', value: (r) => r.failed_runs }], count),
      barChart('Tokens', rows, [{ label: 'input', class: 'c-in', value: (r) => r.input_tokens }, { label: 'output', class: 'c-out', value: (r) => r.output_tokens }], count),
      barChart('Cost (USD)', rows, [{ label: 'cost', class: 'c-cost', value: (r) => r.cost_usd }], usd),
      barChart('Tool calls', rows, [{ label: 'tool calls', class: 'c-tools', value: (r) => r.tool_calls }], count),
      barChart('Approvals', rows, [
        { label: 'approved', class: 'c-ok', value: (r) => r.approvals.approved }, { label: 'denied', class: 'c-bad', value: (r) => r.approvals.denied },
        { label: 'expired', class: 'c-warn', value: (r) => r.approvals.expired }, { label: 'pending or canceled', class: 'c-other', value: otherApprovals },
      ], count),
    );

    const cells = (r) => [
      el('td', { class: 'num', 'data-field': 'runs' }, count(r.runs)), el('td', { class: 'num', 'data-field': 'failed_runs' }, count(r.failed_runs)),
      el('td', { class: 'num', 'data-field': 'failure_rate' }, percent(r.failure_rate)),
      el('td', { class: 'num', 'data-field': 'input_tokens' }, count(r.input_tokens)), el('td', { class: 'num', 'data-field': 'output_tokens' }, count(r.output_tokens)),
      el('td', { class: 'num', 'data-field': 'cost_usd' }, usd(r.cost_usd)), el('td', { class: 'num', 'data-field': 'tool_calls' }, count(r.tool_calls)),
      ...['requested', 'approved', 'denied', 'expired'].map((k) => el('td', { class: 'num', 'data-field': `approvals.${k}` }, count(r.approvals[k]))),
    ];
    const table = document.getElementById('usage');
    // Newest day first in the table (the charts read left to right, oldest first).
    const listed = report.group_by === 'day' ? [...rows].reverse() : rows;
    table.querySelector('tbody').replaceChildren(...listed.map((r) => el('tr', { 'data-key': r.key, class: r.runs === 0 ? 'empty' : undefined },
      el('th', { scope: 'row' }, r.label), ...cells(r))));
    let foot = table.querySelector('tfoot');
    if (!foot) table.append((foot = el('tfoot')));
    foot.replaceChildren(el('tr', { 'data-key': 'total' }, el('th', { scope: 'row' }, 'Total'), ...cells(t)));
    document.getElementById('usage-empty').hidden = t.runs > 0;
  }

  const pages = { runs: runsPage, run: runPage, approvals: approvalsPage, usage: usagePage };
  if (pages[body.dataset.page]) pages[body.dataset.page]().catch(showError);
})();
