// Who is signed in, kept to this one module. The API takes the customer from a bearer token, so
// signing in is getting an access token; it is kept in memory only (never in storage a script
// injected later could read back), and a reload signs out.
//
// Locally (`make app`, the tests: APP_AUTH_LOCAL_DEV) the token comes from the API's dev-only
// `POST /api/dev/token`, which asks the local issuer to mint one for the chosen customer. That
// route does not exist in a deployed stack: there, signIn becomes the Cognito hosted UI's
// authorization-code flow with PKCE, and the hosted UI's domain has to be added to `connect-src`
// in CONTENT_SECURITY_POLICY (app/web/site.py) for the token exchange.
import { request } from "./api.js";

let session = null; // { customer, token }

export function currentCustomer() {
  return session ? session.customer : null;
}

/** Signs in as `customerId`; throws the API's ApiError (404: no such customer) and stays signed out. */
export async function signIn(customerId) {
  session = null;
  const answer = await request("POST", "/api/dev/token", { body: { customer_id: customerId } });
  session = { customer: customerId, token: answer.access_token };
}

export function signOut() {
  session = null;
}

/** Headers that authenticate a request to /api/*. */
export function authHeaders() {
  return session ? { Authorization: `Bearer ${session.token}` } : {};
}

/** The fields of an order's body that say whose it is: none, the API takes the token's customer. */
export function orderOwner() {
  return {};
}
