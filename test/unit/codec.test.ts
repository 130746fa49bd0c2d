// The payload codec fails closed: only `binary/encrypted` payloads reach a workflow or an activity; a
// plaintext one decodes as `undefined` (never thrown: that would freeze the run's workflow task).
import crypto from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { decodeAllPayloads, EncryptionCodec, REJECTED_ENCODING } from '../../src/temporal/codec';

const key = crypto.randomBytes(32);
const plain = defaultPayloadConverter.toPayload({ approval_id: 'apr_1', decision: 'approve' });

describe('payload codec', () => {
  it('decrypts what it encrypted', async () => {
    const codec = new EncryptionCodec([key]);
    const [decoded] = await codec.decode(await codec.encode([plain]));
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ approval_id: 'apr_1', decision: 'approve' });
  });

  it('refuses a plaintext payload: it decodes as undefined and is reported', async () => {
    const refused: string[] = [];
    const [decoded] = await new EncryptionCodec([key], { onRejected: (e) => refused.push(e) }).decode([plain]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBeUndefined();
    expect(refused).toEqual(['json/plain']);
  });

  it('refuses a plaintext payload that claims to be an already refused one', async () => {
    const forged = { ...plain, metadata: { ...plain.metadata, [REJECTED_ENCODING]: new TextEncoder().encode('json/plain') } };
    const refused: string[] = [];
    const [decoded] = await new EncryptionCodec([key], { onRejected: (e) => refused.push(e) }).decode([forged]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBeUndefined();
    expect(refused).toEqual(['json/plain']);
  });

  it('a payload marked refused by a history export still decodes as undefined in the strict codec', async () => {
    const history = { events: [{ workflowExecutionSignaledEventAttributes: { input: { payloads: [plain] } } }] };
    await decodeAllPayloads(history, new EncryptionCodec([key]));
    const marked = (history.events[0] as Record<string, any>).workflowExecutionSignaledEventAttributes.input.payloads[0];
    const [decoded] = await new EncryptionCodec([key]).decode([marked]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBeUndefined();
  });

  it('passes plaintext through only when lenient (replay of decoded exports)', async () => {
    const [decoded] = await new EncryptionCodec([key], { lenient: true }).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('a history export decrypts payloads, keeps search attributes, and marks a plaintext signal as refused', async () => {
    const codec = new EncryptionCodec([key]);
    const [encrypted] = await codec.encode([plain]);
    const history = {
      events: [
        { workflowExecutionStartedEventAttributes: { input: { payloads: [encrypted] }, searchAttributes: { indexedFields: { ApWorkspaceId: defaultPayloadConverter.toPayload('ws_1') } } } },
        { workflowExecutionSignaledEventAttributes: { input: { payloads: [plain] } } },
      ],
    };
    await decodeAllPayloads(history, codec);
    const [started, signaled] = history.events as Record<string, any>[];
    expect(defaultPayloadConverter.fromPayload(started!.workflowExecutionStartedEventAttributes.input.payloads[0])).toEqual({ approval_id: 'apr_1', decision: 'approve' });
    expect(defaultPayloadConverter.fromPayload(started!.workflowExecutionStartedEventAttributes.searchAttributes.indexedFields.ApWorkspaceId)).toBe('ws_1');
    const signal = signaled!.workflowExecutionSignaledEventAttributes.input.payloads[0];
    expect(defaultPayloadConverter.fromPayload(signal)).toBeUndefined();
    expect(Buffer.from(signal.metadata[REJECTED_ENCODING]).toString()).toBe('json/plain');
    expect(Buffer.from(signal.data).toString()).toContain('apr_1');
  });
});
