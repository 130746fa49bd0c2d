// A run's `input_file` parts (API.md 11) as the model reads them: the model call activity resolves them at
// call time; the API checks them when the run is created (src/services/files.ts checkInputFiles).
import type { Queryable } from '../db/pool';
import * as repo from '../db/files';
import { inputKind } from '../domain/file';
import type { Message, UserMessage } from '../domain/message';

/** Every `input_file` part of messages, with where it is (`input[i].content[j]`). */
export function fileParts(messages: Message[]): { file_id: string; param: string }[] {
  return messages.flatMap((m, i) =>
    m.role !== 'user' ? [] : m.content.flatMap((part, j) => (part.type === 'input_file' ? [{ file_id: part.file_id, param: `input[${i}].content[${j}].file_id` }] : [])),
  );
}

/**
 * In the model call: each `input_file` part becomes its text (headed by the filename) or its image. A
 * file deleted since the run was created (a later run of the session still lists it) becomes a note.
 */
export async function resolveInputFiles(db: Queryable, workspaceId: string, messages: Message[]): Promise<Message[]> {
  const ids = [...new Set(fileParts(messages).map((x) => x.file_id))];
  if (ids.length === 0) return messages;
  const rows = await repo.getFiles(db, workspaceId, ids);
  const resolved = new Map<string, UserMessage['content'][number]>();
  for (const f of rows) {
    const kind = inputKind({ ...f, bytes: Number(f.bytes) }).kind;
    if (kind === 'unsupported') continue;
    const content = await repo.getContent(db, f.id);
    resolved.set(
      f.id,
      kind === 'image'
        ? { type: 'input_image', media_type: f.content_type, data: content.toString('base64') }
        : { type: 'input_text', text: `\n<file name=${JSON.stringify(f.filename)} id="${f.id}">\n${content.toString('utf8')}\n</file>\n` },
    );
  }
  return messages.map((m) =>
    m.role !== 'user'
      ? m
      : {
          ...m,
          content: m.content.map((part) =>
            part.type !== 'input_file' ? part : (resolved.get(part.file_id) ?? { type: 'input_text', text: `\n[file ${part.file_id} is no longer available]\n` }),
          ),
        },
  );
}
