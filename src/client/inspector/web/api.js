// The inspector page's one way to its server: JSON over fetch (same origin; the browser sends the
// Basic credentials it was given for the page). Errors come back as {error: {code, message, fix}}.

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.fix = error.fix;
  }
}

export async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, ...(method !== 'GET' ? { body: JSON.stringify(body ?? {}) } : {}) });
  } catch (err) {
    throw new ApiError(0, {
      code: 'BURROW_ERR_SERVER_UNREACHABLE',
      message: `the inspector did not answer (${err.message})`,
      fix: 'Is burrow still running? Start it again and reload.',
    });
  }
  if (res.status === 204) return {};
  let json = {};
  try {
    json = await res.json();
  } catch {
    json = {};
  }
  if (!res.ok) throw new ApiError(res.status, json.error ?? { code: `HTTP ${res.status}`, message: res.statusText });
  return json;
}
