// Secrets out of text that tenant-controlled endpoints send back (tool answers, provider errors, token
// deltas): an endpoint may quote the key or header it was sent.

export interface Redactor {
  (s: string): string;
  /**
   * For text sent on in pieces (token deltas): the length of the longest end of `s` that could be the
   * start of a secret. The sender holds it back until the next piece shows whether it is one.
   */
  partialAtEnd(s: string): number;
}

/** Replaces each secret, also in its JSON-escaped and URL-encoded forms. */
export function redactor(secrets: string[]): Redactor {
  const forms = secrets
    .filter((v) => v.length >= 4)
    .flatMap((v) => [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)])
    .sort((a, b) => b.length - a.length);
  const redact = (s: string) => forms.reduce((acc, f) => acc.split(f).join('[redacted]'), s);
  const partialAtEnd = (s: string) => {
    let longest = 0;
    for (const f of forms) {
      for (let n = Math.min(f.length - 1, s.length); n > longest; n--) {
        if (s.endsWith(f.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  };
  return Object.assign(redact, { partialAtEnd });
}
