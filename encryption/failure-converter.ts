// Loaded by path (`failureConverterPath`) by the client, the worker and the workflow sandbox: failure
// messages and stack traces go into an encoded payload, so the payload codec covers them too
// (carrier errors can echo a number).
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
