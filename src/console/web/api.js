// The console's one way to the server: JSON over fetch with the session cookie and the CSRF token.
// Errors come back as the admin API shapes them: {error: {code, message, fix}}.

let csrf = '';

export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.fix = error.fix;
    this.retryAfter = retryAfter;
  }
}

export async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf;
  let res;
  try {
    res = await fetch(`/admin${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, {
      code: 'BURROW_ERR_SERVER_UNREACHABLE',
      message: `the server did not answer (${err.message})`,
      fix: 'Check that the burrow server is running, then try again.',
    });
  }
  let json = {};
  try {
    json = await res.json();
  } catch {
    json = {};
  }
  if (!res.ok) {
    const error = json.error ?? { code: `HTTP ${res.status}`, message: res.statusText, fix: '' };
    throw new ApiError(res.status, error, Number(res.headers.get('retry-after')) || undefined);
  }
  return json;
}

/** The admin API (docs/api.md) through the console's session. */
export const admin = (method, path, body) => call(method, `/api${path}`, body);
