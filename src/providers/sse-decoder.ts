// One small Server-Sent Events decoder for provider streams (and for our own SSE clients). A line, and an
// event, longer than `maxLine` is BodyTooLargeError: the sender cannot grow the buffer without end.
import { BODY_LIMITS, BodyTooLargeError } from '../security/bounded-body';

export interface SseMessage {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

export async function* decodeSse(body: AsyncIterable<Uint8Array>, maxLine: number = BODY_LIMITS.sseLine): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | undefined;
  let id: string | undefined;
  let data: string[] = [];
  let dataLength = 0;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer[nl] === '\r' ? 2 : 1));
      if (line === '') {
        if (data.length > 0 || event !== undefined) yield { event, data: data.join('\n'), id };
        // Unlike a browser's lastEventId, `id` here is only the id of this message.
        event = undefined;
        id = undefined;
        data = [];
        dataLength = 0;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') {
        dataLength += value.length + 1;
        if (dataLength > maxLine) throw new BodyTooLargeError(maxLine);
        data.push(value);
      }
      else if (field === 'event') event = value;
      else if (field === 'id') id = value;
    }
    // What is left is one unfinished line (counted in UTF-16 units: close enough to bytes for a cap).
    if (buffer.length > maxLine) throw new BodyTooLargeError(maxLine);
  }
  if (data.length > 0) yield { event, data: data.join('\n'), id };
}
