// The dashboard in a real browser (Chromium driven by playwright-core: test/support/browser.ts) against the real stack:
// sign-in, a live runs list and run timeline, approve with edited arguments, deny, cancel, an auditor's
// read-only view, a forged cross-site POST, and the usage page. Screenshots go to test-artifacts/screenshots/.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm } from '../fixtures/fake-llm';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { Api, env, setupAgent, waitFor, waitForStatus, type AgentSetup } from '../support/api';
import { CHROMIUM_ARGS, chromiumExecutable } from '../support/browser';

const SHOTS = path.resolve(__dirname, '../../test-artifacts/screenshots');

let browser: Browser;
let s: AgentSetup;
let tools: ToolServer;
let developer: Api;
let approverKey: string;
const base = () => env().apiUrl;

beforeAll(async () => {
  const executable = await chromiumExecutable();
  process.stdout.write(`[dashboard] Chromium from ${executable.source}: ${executable.path}\n`);
  browser = await chromium.launch({ executablePath: executable.path, args: CHROMIUM_ARGS });
  tools = await startToolServer();
  tools.route('/tickets', { body: (r: { headers: Record<string, unknown>; body: unknown }) => (r.headers['x-dry-run'] ? { would_create: r.body } : { ticket: 'T-1', got: r.body }) });
  s = await setupAgent({ pricing: true });
  const tool = await s.api.post('/v1/tools', {
    name: 'create_ticket',
    effect: 'write',
    supports_dry_run: true,
    input_schema: { type: 'object', properties: { title: { type: 'string' }, priority: { enum: ['low', 'high'] } }, required: ['title'] },
    executor: { type: 'http', url: `${tools.url}/tickets` },
  });
  expect(tool.status).toBe(201);
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'] })).status).toBe(200);
  developer = new Api((await s.api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
  approverKey = (await s.api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key;
  fs.mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await s?.llm.close();
  await tools?.close();
});

async function signIn(key: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base()}/dashboard`);
  expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForURL('**/dashboard/runs');
  return { context, page };
}

/** A run (created by the developer key, as an app would) parked on the approval of create_ticket. */
async function parkedRun(args: Record<string, unknown>, then: string) {
  s.llm.reply({ text: 'Filing a ticket.', tool_calls: [{ name: 'create_ticket', arguments: args }] }, { text: then });
  const run = (await developer.post('/v1/runs', { agent: 'assistant', input: 'file a ticket' })).body;
  const parked = await waitForStatus(developer, run.id, ['waiting_approval']);
  return { id: run.id as string, approvalId: parked.pending_approvals[0].id as string };
}

const timelineTypes = (page: Page) => page.locator('#timeline li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-type')));

describe('dashboard', () => {
  it('sign-in keeps the key in an HttpOnly SameSite=Strict cookie, never in a URL; a wrong key is refused', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base()}/dashboard/login`);
    await page.fill('#key', 'ap_not_a_real_key');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('.error').textContent(), { timeout: 10_000 }).toContain('invalid or revoked');
    await context.close();

    const { context: ok, page: signed } = await signIn(s.api.key);
    expect(signed.url()).not.toContain(s.api.key);
    const session = (await ok.cookies()).find((c) => c.name === 'ap_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await signed.evaluate<string>('document.cookie')).not.toContain('ap_');
    await signed.click('button:has-text("Sign out")');
    await signed.waitForURL('**/dashboard/login');
    await signed.goto(`${base()}/dashboard/runs`);
    expect(new URL(signed.url()).pathname).toBe('/dashboard/login');
    await ok.close();
  });

  it('an approver sees a run appear live, its timeline grow, approves with edited arguments and the run completes', async () => {
    const { context, page } = await signIn(approverKey);
    const run = await parkedRun({ title: 'Printer on fire', priority: 'high' }, 'Ticket T-1 filed.');
    // The list was open before the run existed: it shows up without a reload.
    await page.locator(`tr[data-run="${run.id}"] .badge[data-status="waiting_approval"]`).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(SHOTS, 'runs-list.png'), fullPage: true });

    await page.click(`a[href="/dashboard/runs/${run.id}"]`);
    await page.locator('#timeline li[data-type="approval.requested"]').waitFor();
    const before = await timelineTypes(page);
    expect(before).toEqual(expect.arrayContaining(['run.started', 'message.completed', 'tool_call.requested', 'policy.decided', 'approval.requested']));
    expect(before).not.toContain('tool_call.completed');
    await expect.poll(() => page.locator('#timeline li[data-type="tool_call.requested"]').textContent(), { timeout: 10_000 }).toContain('Printer on fire');
    await expect.poll(() => page.locator('#timeline li[data-type="policy.decided"]').textContent(), { timeout: 10_000 }).toContain('default_write');

    const inbox = await context.newPage();
    await inbox.goto(`${base()}/dashboard/approvals`);
    const card = inbox.locator(`article[data-approval="${run.approvalId}"]`);
    await card.waitFor();
    expect(await card.locator('h2').textContent()).toContain('create_ticket');
    expect(await card.locator('.rule').textContent()).toBe('default_write');
    expect(await card.locator('.why').textContent()).not.toBe('');
    expect(JSON.parse((await card.locator('.preview').textContent())!)).toEqual({ would_create: { title: 'Printer on fire', priority: 'high' } });
    await inbox.screenshot({ path: path.join(SHOTS, 'approvals-inbox.png'), fullPage: true });
    await card.locator('textarea.args').fill(JSON.stringify({ title: 'Printer on fire (edited)', priority: 'high' }));
    await card.locator('button.approve').click();
    await card.locator('.done').waitFor();

    // The run page, still open, follows the run to the end over SSE.
    await page.locator('#timeline li[data-type="run.completed"]').waitFor({ timeout: 30_000 });
    const after = await timelineTypes(page);
    expect(after).toEqual(expect.arrayContaining(['approval.decided', 'tool_call.started', 'tool_call.completed', 'run.completed']));
    const seqs = await page.locator('#timeline li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-seq'))));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // every stored event once, in order
    await expect.poll(() => page.locator('#run-status .badge').getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    await expect.poll(() => page.locator('#output-text').textContent(), { timeout: 10_000 }).toBe('Ticket T-1 filed.');
    await expect.poll(() => page.locator('dd[data-field="usage"]').textContent(), { timeout: 10_000 }).toContain('2 model calls');
    await page.screenshot({ path: path.join(SHOTS, 'run-page.png'), fullPage: true });
    expect(tools.requests.filter((r) => !r.headers['x-dry-run']).map((r) => r.body)).toContainEqual({ title: 'Printer on fire (edited)', priority: 'high' });
    await context.close();
  });

  it('deny needs a reason, and the reason is recorded', async () => {
    const { context, page } = await signIn(approverKey);
    const run = await parkedRun({ title: 'Delete prod' }, 'Understood, not filing.');
    await page.goto(`${base()}/dashboard/approvals`);
    const card = page.locator(`article[data-approval="${run.approvalId}"]`);
    await card.locator('button.deny').click();
    await expect.poll(() => card.locator('.error').textContent(), { timeout: 10_000 }).toContain('reason is required');
    expect((await developer.get(`/v1/approvals/${run.approvalId}`)).body.status).toBe('pending');
    await card.locator('input.reason').fill('Not during the freeze');
    await card.locator('button.deny').click();
    await card.locator('.done').waitFor();
    const done = await waitForStatus(developer, run.id, ['completed']);
    expect(done.output_text).toBe('Understood, not filing.');
    expect((await developer.get(`/v1/approvals/${run.approvalId}`)).body).toMatchObject({ status: 'denied' });
    const decided = (await developer.get(`/v1/runs/${run.id}/events?limit=100`)).body.data.find((e: { type: string }) => e.type === 'approval.decided');
    expect(JSON.stringify(decided.data)).toContain('Not during the freeze');
    await context.close();
  });

  it('an auditor sees no action buttons; a forged cross-site POST is rejected; cancel ends an active run', async () => {
    const run = await parkedRun({ title: 'Reboot the router' }, 'unused');
    const auditorKey = (await s.api.post('/v1/api_keys', { name: 'auditor', roles: ['auditor'] })).body.key;
    const auditor = await signIn(auditorKey);
    await auditor.page.goto(`${base()}/dashboard/approvals`);
    const card = auditor.page.locator(`article[data-approval="${run.approvalId}"]`);
    await card.waitFor();
    expect(await card.locator('button').count()).toBe(0);
    expect(await card.locator('textarea.args').getAttribute('readonly')).not.toBeNull();
    await auditor.page.goto(`${base()}/dashboard/runs/${run.id}`);
    await auditor.page.locator('#timeline li[data-type="approval.requested"]').waitFor();
    await auditor.page.locator('dd[data-field="status"]').waitFor();
    expect(await auditor.page.locator('#run-actions button').count()).toBe(0);
    // The list filters: only runs in the chosen status, of the chosen agent, created after the date.
    await auditor.page.goto(`${base()}/dashboard/runs?status=waiting_approval&agent=assistant`);
    await auditor.page.locator(`tr[data-run="${run.id}"]`).waitFor();
    const statuses = await auditor.page.locator('#runs tbody .badge').evaluateAll((b) => b.map((x) => x.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['waiting_approval']));
    await auditor.page.goto(`${base()}/dashboard/runs?created_after=2999-01-01`);
    await auditor.page.locator('#runs-empty:not([hidden])').waitFor();
    await auditor.context.close();

    // An attacker's page on another origin of the same host (so the SameSite=Strict cookie is sent)
    // submits a form to the cancel route: the CSRF check refuses it.
    const admin = await signIn(s.api.key);
    const attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id="f" method="post" action="${base()}/v1/runs/${run.id}/cancel"><input name="reason" value="pwned"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    try {
      const response = page0Response(admin.page, `/v1/runs/${run.id}/cancel`);
      await admin.page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      const forged = await response;
      expect(forged.status()).toBe(403);
      expect(await forged.json()).toMatchObject({ error: { type: 'permission_error', code: 'csrf_failed' } });
    } finally {
      attacker.close();
    }
    expect((await developer.get(`/v1/runs/${run.id}`)).body.status).toBe('waiting_approval');

    // The cookie without the page's token is refused too, whatever the client.
    const cookie = (await admin.context.cookies()).find((c) => c.name === 'ap_session')!;
    const raw = await fetch(`${base()}/v1/runs/${run.id}/cancel`, { method: 'POST', headers: { cookie: `ap_session=${cookie.value}`, 'content-type': 'application/json' }, body: '{}' });
    expect(raw.status).toBe(403);

    await admin.page.goto(`${base()}/dashboard/runs/${run.id}`);
    admin.page.on('dialog', (d) => void d.accept());
    await admin.page.locator('#cancel-run').click();
    await waitFor(async () => (await developer.get(`/v1/runs/${run.id}`)).body.status === 'canceled', 'the run to be canceled');
    await admin.page.locator('#timeline li[data-type="run.canceled"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => admin.page.locator('#run-actions button').count(), { timeout: 10_000 }).toBe(0);
    expect((await developer.get(`/v1/approvals/${run.approvalId}`)).body.status).toBe('canceled');
    await admin.context.close();
  });

  it('the timeline shows every stored event type of the catalogue, a skill load included: every seq once, in order', async () => {
    // A provider of its own: the shared one may hold replies that earlier tests' runs left unused.
    const llm = await startFakeLlm('openai');
    try {
      expect((await s.api.post('/v1/model_cards', { id: 'guide-llm', provider: 'openai', base_url: llm.baseUrl, api_key: 'sk-test-guide', default_model: 'fake-model' })).status).toBe(201);
      expect((await s.api.post('/v1/agents', { name: 'guide', model: { card: 'guide-llm' }, instructions: 'Read the guide.', skills: ['platform-guide'] })).status).toBe(201);
      llm.reply({ tool_calls: [{ name: 'load_skill', arguments: { skill: 'platform-guide' } }] }, { text: 'I have read the guide.' });
      await timelineOfSkillRun();
    } finally {
      await llm.close();
    }
  });

  it('the usage page shows the figures of GET /v1/usage: totals, a chart per figure and the table, by day and by agent', async () => {
    for (const [input_tokens, output_tokens] of [[120, 30], [80, 15], [40, 5]]) {
      s.llm.reply({ text: 'Counted.', usage: { input_tokens: input_tokens!, output_tokens: output_tokens! } });
      expect((await developer.post('/v1/runs', { agent: 'assistant', input: 'count', wait: true })).body.status).toBe('completed');
    }
    const auditorKey = (await s.api.post('/v1/api_keys', { name: 'usage auditor', roles: ['auditor'] })).body.key;
    const { context, page } = await signIn(auditorKey);
    const count = (n: number) => n.toLocaleString('en-US');
    /** What the table shows of each row of the API's answer, and of its total. */
    const shown = (r: any) => ({
      runs: count(r.runs), failed_runs: count(r.failed_runs), failure_rate: `${(r.failure_rate * 100).toFixed(1)}%`,
      input_tokens: count(r.input_tokens), output_tokens: count(r.output_tokens), cost_usd: `$${r.cost_usd.toFixed(4)}`, tool_calls: count(r.tool_calls),
      'approvals.requested': count(r.approvals.requested), 'approvals.approved': count(r.approvals.approved), 'approvals.denied': count(r.approvals.denied), 'approvals.expired': count(r.approvals.expired),
    });
    const tableOf = (p: Page) => p.locator('#usage tr[data-key]').evaluateAll((trs) => Object.fromEntries(trs.map((tr) => [
      tr.getAttribute('data-key'), Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.getAttribute('data-field'), td.textContent])),
    ])));
    for (const groupBy of ['agent', 'day']) {
      // Loaded again until the API answers the same right after: a run of an earlier test may still be ending.
      const expected = (report: any) => ({ ...Object.fromEntries(report.data.map((r: any) => [r.key, shown(r)])), total: shown(report.total) });
      const { report, table } = await waitFor(async () => {
        await page.goto(`${base()}/dashboard/usage?group_by=${groupBy}`);
        await page.locator('#usage tfoot tr').waitFor();
        const [table, report] = [await tableOf(page), (await s.api.get(`/v1/usage?group_by=${groupBy}`)).body];
        return isDeepStrictEqual(table, expected(report)) && { report, table };
      }, `the ${groupBy} page to show what GET /v1/usage answers`, 20_000);
      expect(report.total.runs).toBeGreaterThanOrEqual(3);
      expect(table).toEqual(expected(report));
      expect(await page.locator('#usage tbody th').allTextContents()).toEqual(expect.arrayContaining(report.data.map((r: any) => r.label)));
      expect(await page.locator('[data-total="runs"] dd').textContent()).toBe(count(report.total.runs));
      expect(await page.locator('[data-total="input tokens"] dd').textContent()).toBe(count(report.total.input_tokens));
      // One chart per figure, one bar group per row; the bars' titles carry the figures.
      expect(await page.locator('figure.chart-box').evaluateAll((f) => f.map((x) => x.getAttribute('data-chart')))).toEqual(['Runs', 'Tokens', 'Cost (USD)', 'Tool calls', 'Approvals']);
      expect(await page.locator('figure[data-chart="Tokens"] svg g.bar').count()).toBe(report.data.length);
      const busiest = report.data.reduce((a: any, b: any) => (b.input_tokens > a.input_tokens ? b : a));
      expect(await page.locator(`figure[data-chart="Tokens"] g.bar[data-key="${busiest.key}"] title`).textContent()).toBe(`${busiest.label}: input ${count(busiest.input_tokens)}, output ${count(busiest.output_tokens)}`);
    }
    // The day view: 30 days, today's bar holding every run of this workspace; the form shows the window.
    expect(await page.locator('#usage tbody tr').count()).toBe(30);
    expect(await page.locator('input[name="to"]').inputValue()).toBe(new Date().toISOString().slice(0, 10));
    await page.screenshot({ path: path.join(SHOTS, 'usage-page.png') });
    await context.close();
  });
});

/** A completed run of `guide` that loaded a skill, opened on its run page. */
async function timelineOfSkillRun(): Promise<void> {
  const run = (await developer.post('/v1/runs', { agent: 'guide', input: 'read the guide', wait: true })).body;
  expect(run.status).toBe('completed');
  const stored = (await developer.get(`/v1/runs/${run.id}/events?limit=100`)).body.data as { type: string }[];
  expect(stored.map((e) => e.type)).toContain('skill.loaded');
  const viewer = await signIn(approverKey);
  await viewer.page.goto(`${base()}/dashboard/runs/${run.id}`);
  await viewer.page.locator('#timeline li[data-type="run.completed"]').waitFor({ timeout: 30_000 });
  expect(await timelineTypes(viewer.page)).toEqual(stored.map((e) => e.type));
  await expect.poll(() => viewer.page.locator('#timeline li[data-type="skill.loaded"]').textContent()).toContain('platform-guide');
  await viewer.context.close();
}

const page0Response = (page: Page, pathname: string) => page.waitForResponse((r) => new URL(r.url()).pathname === pathname && r.request().method() === 'POST');
