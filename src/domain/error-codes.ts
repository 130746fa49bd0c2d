// The catalogue of every error code the API answers with (API.md 1.2): its type and when it happens.
// Code below the API names a code; the API derives the HTTP status from the entry (src/api/error-status.ts).
// docs/errors.md publishes this list; test/unit/error-codes.test.ts keeps the two equal.

/** The `type` of an error body; each one is a class of HTTP status the API answers with. */
export const ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'budget_error',
  'permission_error',
  'not_found_error',
  'conflict_error',
  'rate_limit_error',
  'api_error',
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

export interface ErrorCodeEntry {
  readonly type: ErrorType;
  /** One line: when the platform answers with this code. */
  readonly when: string;
  /**
   * A service the platform depends on (the database, Temporal, an OAuth or embedding provider) is not
   * reachable: the same request may succeed later. The API answers 503; activities let Temporal retry.
   */
  readonly unavailable?: true;
}

export const ERROR_CODES = {
  // invalid_request_error
  validation_failed: { type: 'invalid_request_error', when: 'A field, header, query or path parameter does not match its schema (param names it)' },
  invalid_json: { type: 'invalid_request_error', when: 'The request body is not valid JSON or not UTF-8' },
  payload_too_large: { type: 'invalid_request_error', when: 'The request body, an upload or a skill file exceeds its size limit' },
  unsupported_media_type: { type: 'invalid_request_error', when: 'The request body has a content type or encoding the route does not accept' },
  request_timeout: { type: 'invalid_request_error', when: "An upload's body did not arrive within the upload timeout" },
  idempotency_key_reused: { type: 'invalid_request_error', when: 'An Idempotency-Key is reused with a different body or by another API key' },
  unknown_tool: { type: 'invalid_request_error', when: 'A request names a tool that does not exist in the workspace' },
  invalid_tool_arguments: { type: 'invalid_request_error', when: "Tool-call arguments (an edited approval, an action) do not match the tool's input schema" },
  unknown_connection: { type: 'invalid_request_error', when: "A tool's auth names a connection that does not exist" },
  unknown_memory_store: { type: 'invalid_request_error', when: 'An agent names a memory store that does not exist' },
  import_missing_dependencies: { type: 'invalid_request_error', when: "An imported bundle needs model cards, vault secrets, skills, memory stores or connections the workspace lacks (`missing` lists them)" },
  unknown_skill: { type: 'invalid_request_error', when: 'An agent names a skill that does not exist' },
  unsupported_file: { type: 'invalid_request_error', when: 'A file cannot be model input, or a skill file is not UTF-8 text' },
  eval_set_mismatch: { type: 'invalid_request_error', when: 'Two evals compared do not run the same eval set' },
  embedding_failed: { type: 'invalid_request_error', when: "The memory store's embedding provider refused the call (not retryable)" },
  model_card_probe_failed: { type: 'invalid_request_error', when: "Creating or rotating a model card: the provider answered 401, 403 or 404 to the probe, or did not answer in time; nothing was stored" },
  authorization_failed: { type: 'invalid_request_error', when: "A connection's token endpoint refused the exchange or answered without a usable bearer token" },
  authorization_denied: { type: 'invalid_request_error', when: 'The user did not grant an OAuth authorization at the authorization server' },
  invalid_state: { type: 'invalid_request_error', when: 'An OAuth authorization link or callback is unknown, expired, already used, or from another browser' },
  // authentication_error
  missing_api_key: { type: 'authentication_error', when: 'The request carries no API key' },
  invalid_api_key: { type: 'authentication_error', when: 'The API key is unknown or revoked' },
  // budget_error
  budget_exceeded: { type: 'budget_error', when: "A run is refused because the workspace's monthly token budget is used up" },
  // permission_error
  permission_denied: { type: 'permission_error', when: "The API key's roles or ownership do not allow the call" },
  agent_disabled: { type: 'permission_error', when: 'A run is asked of a disabled agent' },
  self_approval_forbidden: { type: 'permission_error', when: 'The key that created a run tries to decide its approvals' },
  private_network_blocked: { type: 'permission_error', when: 'An outbound URL resolves to a private, loopback or link-local address' },
  csrf_failed: { type: 'permission_error', when: 'A dashboard request lacks a valid CSRF token or comes from another origin' },
  // not_found_error
  not_found: { type: 'not_found_error', when: 'The resource or route does not exist, or belongs to another workspace' },
  // conflict_error
  already_exists: { type: 'conflict_error', when: 'A resource with this name or id already exists (or is a built-in skill)' },
  idempotency_in_progress: { type: 'conflict_error', when: 'A request with the same Idempotency-Key is still being processed' },
  session_busy: { type: 'conflict_error', when: 'The session already has an active run' },
  run_not_active: { type: 'conflict_error', when: 'The run or action invocation has already ended' },
  session_idle: { type: 'conflict_error', when: 'The session has no active run to cancel' },
  approval_already_decided: { type: 'conflict_error', when: 'The approval was already decided or has expired' },
  tool_call_already_resolved: { type: 'conflict_error', when: 'The client tool call already has a result or has expired' },
  authorization_not_pending: { type: 'conflict_error', when: 'The run no longer waits for the authorization of this connection' },
  builtin_skill: { type: 'conflict_error', when: 'A built-in skill is asked to be deleted' },
  connection_in_use: { type: 'conflict_error', when: 'A connection that tools declare is asked to be deleted' },
  embedding_card_missing: { type: 'conflict_error', when: "The model card of a memory store's embeddings no longer exists" },
  environment_in_use: { type: 'conflict_error', when: 'An environment that sessions name is asked to be deleted' },
  eval_active: { type: 'conflict_error', when: 'An eval that is queued, running or still ending is asked to be deleted' },
  eval_not_active: { type: 'conflict_error', when: 'An eval that has already ended is asked to be canceled' },
  eval_not_completed: { type: 'conflict_error', when: 'An eval that has not completed is asked to be compared' },
  eval_set_in_use: { type: 'conflict_error', when: 'An eval set that evals ran is asked to be deleted' },
  memory_store_full: { type: 'conflict_error', when: 'A memory store holds its maximum number of entries' },
  model_card_in_use: { type: 'conflict_error', when: 'A model card that agents or memory stores use is asked to be deleted' },
  // rate_limit_error
  rate_limited: { type: 'rate_limit_error', when: "The API key's or workspace's request rate, or the server's capacity, is exceeded (with Retry-After)" },
  too_many_active_runs: { type: 'rate_limit_error', when: 'The workspace already has its maximum number of active runs (with Retry-After)' },
  // api_error
  stream_interrupted: { type: 'api_error', when: "In a `stream: true` chat completion (the last `data:` frame, never a status): a model call broke off after part of its text was streamed and its retry answered differently, so the streamed text is not the answer; the run goes on" },
  internal_error: { type: 'api_error', when: 'Something unexpected failed; the message quotes the request id, the details are in the log' },
  database_unavailable: { type: 'api_error', when: 'PostgreSQL is not reachable (with Retry-After)', unavailable: true },
  temporal_unavailable: { type: 'api_error', when: 'The Temporal server is not reachable (with Retry-After)', unavailable: true },
  authorization_server_unavailable: { type: 'api_error', when: "A connection's token endpoint is unreachable or failed", unavailable: true },
  embedding_unavailable: { type: 'api_error', when: "The memory store's embedding provider failed in a retryable way (with Retry-After)", unavailable: true },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);
