// Who is signed in, kept to this one module. Today the API takes the customer from the order's
// body, so signing in is picking a customer id. With a token-based API (Cognito), signIn gets a
// token, authHeaders() returns `Authorization: Bearer <token>` and orderOwner() returns {} (the
// API then takes the customer from the token); no other module changes.

const KEY = "webscale.customer";

export function currentCustomer() {
  return sessionStorage.getItem(KEY);
}

export function signIn(customerId) {
  sessionStorage.setItem(KEY, customerId);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** Headers that authenticate a request to /api/*. */
export function authHeaders() {
  return {};
}

/** The fields of an order's body that say whose it is. */
export function orderOwner() {
  return { customer_id: currentCustomer() };
}
