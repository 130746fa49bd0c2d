// The OAuth flow of a run waiting for a connected account, as the app and the user's browser go through
// it (issue 17 item 11): the app asks for its user's link with its own key, the browser opens it (the
// platform sets the flow's cookie and redirects to the provider), the provider consents and sends the
// browser back to the callback, which checks the cookie.
import { expect } from 'vitest';
import type { Api } from './api';

type Json = Record<string, any>;

/** The app asks for its user's link with its own key; `seen` receives the answer (for secret scans). */
export async function linkFor(api: Api, pending: Json, seen?: (body: unknown) => void): Promise<Json> {
  const link = await api.post(new URL(pending.authorization_url).pathname, {});
  seen?.(link.body);
  expect(link.status, JSON.stringify(link.body)).toBe(200);
  return link.body;
}

/** The user's browser opens the link: the platform sets the flow's cookie and sends it to the provider. */
export async function openLink(url: string): Promise<{ provider: URL; cookie: string }> {
  const opened = await fetch(url, { redirect: 'manual' });
  expect(opened.status).toBe(302);
  return { provider: new URL(opened.headers.get('location')!), cookie: opened.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

/** The provider (which consents at once) redirects the browser back to the platform's callback. */
export async function consent(provider: URL): Promise<string> {
  const res = await fetch(provider, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

/** The whole flow in the user's browser, from the app's link to the callback's answer. */
export async function authorize(api: Api, pending: Json, seen?: (body: unknown) => void): Promise<Response> {
  const { provider, cookie } = await openLink((await linkFor(api, pending, seen)).authorization_url);
  return fetch(await consent(provider), { headers: { cookie } });
}
