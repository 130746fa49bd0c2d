// The dashboard's server-rendered page shells. They carry no data, except the run page's feedback:
// dashboard.js fills them from the public /v1 API. Everything interpolated here is escaped.
import { APPROVAL_STATUSES } from '../domain/approval';
import { RUN_STATUSES } from '../domain/run';
import { RUN_EVENT_DATA } from '../domain/run-event';
import { USAGE_GROUPS } from '../domain/usage-report';
import type { Principal } from '../domain/workspace';
import type { RunFeedback } from '../services/feedback';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, body: string, attrs: Record<string, string> = {}): string {
  const data = Object.entries(attrs).map(([k, v]) => ` data-${k}="${esc(v)}"`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Agent Platform</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body${data}>
${body}
</body>
</html>
`;
}

function nav(p: Principal, csrf: string, current: string): string {
  const link = (href: string, label: string) =>
    `<a href="${href}"${current === label ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<header class="top">
  <strong class="brand">Agent Platform</strong>
  <nav>${link('/dashboard/runs', 'Runs')}${link('/dashboard/approvals', 'Approvals')}${link('/dashboard/usage', 'Usage')}</nav>
  <span class="who">${esc(p.workspace_name)} · ${esc(p.key_name)} <span class="roles">(${esc(p.roles.join(', '))})</span></span>
  <form method="post" action="/dashboard/logout" class="logout">
    <input type="hidden" name="csrf" value="${esc(csrf)}">
    <button type="submit">Sign out</button>
  </form>
</header>`;
}

const options = (values: readonly string[]): string => values.map((v) => `<option>${esc(v)}</option>`).join('');

const session = (p: Principal, csrf: string, page: string, extra: Record<string, string> = {}) => ({
  page,
  roles: p.roles.join(','),
  csrf,
  ...extra,
});

export function loginPage(csrf: string, error?: string): string {
  return layout(
    'Sign in',
    `<main class="login">
  <h1>Agent Platform</h1>
  <form method="post" action="/dashboard/login">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="off" required placeholder="ap_...">
    <input type="hidden" name="csrf" value="${esc(csrf)}">
    ${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
    <button type="submit">Sign in</button>
  </form>
  <p class="hint">The key stays in an HttpOnly cookie of this browser for 12 hours.</p>
</main>`,
    { page: 'login' },
  );
}

export function runsPage(p: Principal, csrf: string): string {
  return layout(
    'Runs',
    `${nav(p, csrf, 'Runs')}
<main>
  <h1>Runs</h1>
  <form id="filters" class="filters" method="get" action="/dashboard/runs">
    <label>Status <select name="status">
      <option value="">any</option>
      ${options(RUN_STATUSES)}
    </select></label>
    <label>Agent <select name="agent"><option value="">any</option></select></label>
    <label>Created after <input type="date" name="created_after"></label>
    <button type="submit">Filter</button>
  </form>
  <p class="live" id="live-note">Live: refreshes every 2 seconds.</p>
  <table id="runs" class="grid">
    <thead><tr><th>Run</th><th>Agent</th><th>Status</th><th>Created</th><th>Steps</th><th>Tokens</th><th>Cost (USD)</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="runs-empty" class="muted" hidden>No runs match.</p>
  <p class="error" id="error" role="alert" hidden></p>
</main>`,
    session(p, csrf, 'runs'),
  );
}

/** Ratings as 👍 / 👎 with the key that gave each and its comment (user content: escaped like everything). */
function feedbackSection(runId: string, f: RunFeedback): string {
  const thumb = (rating: number) => (rating === 1 ? '<span class="rating up" title="+1">👍</span>' : '<span class="rating down" title="−1">👎</span>');
  const items = f.items.map(
    (i) => `<li data-key="${esc(i.key)}" data-rating="${i.rating}">${thumb(i.rating)} <span class="key">${esc(i.key)}</span>` +
      `${i.comment ? ` <span class="comment">${esc(i.comment)}</span>` : ''} <time datetime="${esc(i.updated_at ?? '')}" class="muted">${esc(i.updated_at ?? '')}</time></li>`,
  );
  const more = f.count - f.items.length;
  return `<section id="run-feedback" class="feedback" data-count="${f.count}">
  <h2>Feedback <span class="counts">👍 ${f.up} · 👎 ${f.down}</span></h2>
  ${f.count === 0 ? '<p class="muted">No feedback yet.</p>' : `<ul class="feedback-items">${items.join('')}</ul>`}
  ${more > 0 ? `<p class="muted">and ${more} earlier (GET /v1/runs/${esc(runId)}/feedback)</p>` : ''}
</section>`;
}

export function runPage(p: Principal, csrf: string, runId: string, feedback?: RunFeedback): string {
  return layout(
    runId,
    `${nav(p, csrf, '')}
<main>
  <h1>Run <code id="run-id">${esc(runId)}</code> <span id="run-status" class="badge"></span></h1>
  <section class="summary">
    <dl id="run-summary"></dl>
    <div id="run-actions"></div>
  </section>
  <section id="run-output" class="output" hidden><h2>Output</h2><div id="output-text"></div></section>
  <section id="run-error" class="error-box" hidden></section>
  ${feedback ? feedbackSection(runId, feedback) : ''}
  <h2>Timeline</h2>
  <ol id="timeline" class="timeline"></ol>
  <div id="live-text" class="live-text" hidden></div>
  <p class="error" id="error" role="alert" hidden></p>
</main>`,
    // The stored event types the timeline listens for: the run-event catalogue's, not a list of the script's own.
    session(p, csrf, 'run', { run: runId, 'event-types': Object.keys(RUN_EVENT_DATA).join(',') }),
  );
}

export function approvalsPage(p: Principal, csrf: string): string {
  return layout(
    'Approvals',
    `${nav(p, csrf, 'Approvals')}
<main>
  <h1>Approvals</h1>
  <form id="approval-filters" class="filters" method="get" action="/dashboard/approvals">
    <label>Status <select name="status">
      ${options(APPROVAL_STATUSES)}
    </select></label>
    <button type="submit">Show</button>
  </form>
  <div id="approvals" class="cards"></div>
  <p id="approvals-empty" class="muted" hidden>Nothing here.</p>
  <p class="error" id="error" role="alert" hidden></p>
</main>`,
    session(p, csrf, 'approvals'),
  );
}

/** Usage at a glance (GET /v1/usage): totals, SVG charts and a table of the same rows, drawn by dashboard.js. */
export function usagePage(p: Principal, csrf: string): string {
  return layout(
    'Usage',
    `${nav(p, csrf, 'Usage')}
<main>
  <h1>Usage</h1>
  <form id="usage-filters" class="filters" method="get" action="/dashboard/usage">
    <label>Group by <select name="group_by">
      ${options(USAGE_GROUPS)}
    </select></label>
    <label>From <input type="date" name="from"></label>
    <label>To (inclusive) <input type="date" name="to"></label>
    <button type="submit">Show</button>
  </form>
  <p class="muted" id="usage-window"></p>
  <dl id="usage-totals" class="tiles"></dl>
  <div id="usage-charts" class="charts"></div>
  <table id="usage" class="grid">
    <thead><tr><th id="usage-key">Day</th><th class="num">Runs</th><th class="num">Failed</th><th class="num">Failure rate</th><th class="num">Input tokens</th><th class="num">Output tokens</th><th class="num">Cost (USD)</th><th class="num">Tool calls</th><th class="num">Approvals</th><th class="num">Approved</th><th class="num">Denied</th><th class="num">Expired</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="usage-empty" class="muted" hidden>No runs in this window.</p>
  <p class="error" id="error" role="alert" hidden></p>
</main>`,
    session(p, csrf, 'usage'),
  );
}
