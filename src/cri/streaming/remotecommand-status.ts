// How an exec or attach ended, as the client reads it from the error stream. Protocol v4 and
// later carry a JSON metav1.Status (k8s.io/apimachinery): client-go's remotecommand turns a
// Failure with reason NonZeroExitCode and a cause of type "ExitCode" (serialised as "reason")
// into an exit code, any other Failure into an error with its message. Versions 1 to 3 carry
// the error text alone and nothing on success.

export type Outcome =
  | { kind: 'success' }
  | { kind: 'exit'; code: number }
  | { kind: 'error'; message: string };

/** Go's json.Marshal of a metav1.Status, fields in struct order (metadata is always present). */
export function statusJson(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'success':
      return JSON.stringify({ metadata: {}, status: 'Success' });
    case 'exit':
      return JSON.stringify({
        metadata: {},
        status: 'Failure',
        message: exitMessage(outcome.code),
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] },
      });
    case 'error':
      return JSON.stringify({
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: ${outcome.message}`,
        reason: 'InternalError',
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      });
  }
}

/** The v1-v3 error stream: a message on failure, nothing on success. */
export function statusText(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'success':
      return '';
    case 'exit':
      return exitMessage(outcome.code);
    case 'error':
      return `Internal error occurred: ${outcome.message}`;
  }
}

function exitMessage(code: number): string {
  return `command terminated with non-zero exit code: exit status ${code}`;
}
