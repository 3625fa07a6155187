// The API client: every call goes through request(), which turns any failure into an ApiError
// whose message a person can read (the API's own detail for 4xx, a plain sentence otherwise).
import { authHeaders } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0: no answer at all (network down, API unreachable)
  }

  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function describe(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  if (status >= 500) return `The shop is having trouble (HTTP ${status}). Please try again in a moment.`;
  return `The request was refused (HTTP ${status}).`;
}

export async function request(method, path, { body, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}), ...authHeaders(), ...headers },
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "The shop cannot be reached. Check your connection; we will keep trying.");
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null; // an HTML error page from a proxy, say: describe() falls back to the status
  }
  if (!response.ok) throw new ApiError(response.status, describe(response.status, parsed));
  return parsed;
}

export const listProducts = () => request("GET", "/api/products");
export const getUser = (id) => request("GET", `/api/users/${encodeURIComponent(id)}`);
export const getOrder = (id) => request("GET", `/api/orders/${encodeURIComponent(id)}`);
export const placeOrder = (order, idempotencyKey) =>
  request("POST", "/api/orders", { body: order, headers: { "Idempotency-Key": idempotencyKey } });
