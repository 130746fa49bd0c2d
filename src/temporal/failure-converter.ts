// Failure messages and stack traces go into an encoded payload (and so through the encryption codec):
// an error message can quote a prompt or a tool result. Bundled into workflows, so: no I/O here.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
