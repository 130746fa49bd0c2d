// The baseline workflows' activities: the same provider and tool HTTP calls a run makes.
export const rawActivities = {
  async callProvider(baseUrl: string): Promise<number> {
    const res = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body: JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return (await res.text()).length;
  },
  async callTool(url: string): Promise<number> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":"x"}' });
    return (await res.text()).length;
  },
};
export type RawActivities = typeof rawActivities;
