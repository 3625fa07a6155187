// The storefront: a catalogue, a checkout that cannot order twice, and an order page that
// follows the order through the pipeline. Routes live in the fragment (#/orders/<id>), so the
// bucket serves one file and needs no rewrite rules.
import { ApiError, getOrder, getUser, listProducts, placeOrder } from "./api.js";
import { currentCustomer, orderOwner, signIn } from "./auth.js";

const $ = (id) => document.getElementById(id);
const CURRENCY = "EUR";
const FINAL = new Set(["fulfilled", "payment_failed", "out_of_stock"]);
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 4000;
const POLL_FACTOR = 1.6;
const CUSTOMER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const money = new Intl.NumberFormat("en", { style: "currency", currency: CURRENCY });

let products = [];
let attempt = null; // {key, payload}: one checkout attempt, its key reused on every retry
let placing = false;
let poller = null;

function showError(error) {
  const box = $("error");
  box.textContent = error ? error.message : "";
  box.hidden = !error;
}

function focusHeading(id) {
  const heading = $(id);
  heading.focus();
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

// -- sign-in -----------------------------------------------------------------------------------

async function onSignIn(event) {
  event.preventDefault();
  const id = $("customer").value.trim();
  if (!CUSTOMER_ID.test(id)) {
    showError(new ApiError(400, "A customer id is 1 to 64 letters, digits, '-' or '_'."));
    $("customer").focus();
    return;
  }
  try {
    await signIn(id);
    const user = await getUser(id);
    $("signed-in").textContent = `Signed in as ${user.name}`;
    showError(null);
  } catch (error) {
    showError(error.status === 404 ? new ApiError(404, `There is no customer ${id}.`) : error);
  }
}

// -- catalogue and checkout ----------------------------------------------------------------------

function renderProducts() {
  const rows = products.map((p) => {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = `${p.name} (${p.sku})`;
    const input = document.createElement("input");
    input.type = "number";
    input.min = "0";
    input.max = String(Math.min(100, p.stock));
    input.value = "0";
    input.dataset.sku = p.sku;
    input.setAttribute("aria-label", `Quantity of ${p.name}`);
    const quantity = document.createElement("td");
    quantity.append(input);
    tr.append(name, cell(money.format(p.price_cents / 100)), cell(p.stock.toLocaleString("en")), quantity);
    return tr;
  });
  $("products").replaceChildren(...rows);
  updateTotal();
}

function chosenItems() {
  return [...document.querySelectorAll("#products input[data-sku]")]
    .map((input) => ({ sku: input.dataset.sku, quantity: Number.parseInt(input.value, 10) || 0 }))
    .filter((item) => item.quantity > 0);
}

function updateTotal() {
  const prices = new Map(products.map((p) => [p.sku, p.price_cents]));
  const cents = chosenItems().reduce((sum, item) => sum + prices.get(item.sku) * item.quantity, 0);
  $("order-total").textContent = cents ? `Total ${money.format(cents / 100)}` : "";
}

async function loadProducts() {
  try {
    products = (await listProducts()).items;
    renderProducts();
    showError(null);
  } catch (error) {
    const row = document.createElement("tr");
    const note = cell("The products could not be loaded.");
    note.colSpan = 4;
    row.append(note);
    $("products").replaceChildren(row);
    showError(error);
  }
}

async function onPlaceOrder(event) {
  event.preventDefault();
  if (placing) return; // a second click while the first is on its way
  const customer = currentCustomer();
  if (!customer) {
    showError(new ApiError(400, "Sign in first: enter your customer id and press Sign in."));
    $("customer").focus();
    return;
  }
  const items = chosenItems();
  if (!items.length) {
    showError(new ApiError(400, "Choose a quantity for at least one product."));
    return;
  }
  const payload = JSON.stringify({ ...orderOwner(), currency: CURRENCY, items });
  // The same order again (a retry after an error) keeps its key, so the API replays instead of
  // ordering twice; a changed order is a new attempt.
  if (!attempt || attempt.payload !== payload) attempt = { key: crypto.randomUUID(), payload };
  placing = true;
  const button = $("place");
  button.disabled = true;
  button.textContent = "Placing order…";
  try {
    const accepted = await placeOrder(JSON.parse(payload), attempt.key);
    attempt = null;
    showError(null);
    location.hash = `#/orders/${accepted.id}`;
  } catch (error) {
    showError(error.retryable ? new ApiError(error.status, `${error.message} Press "Retry order": it will not order twice.`) : error);
    if (!error.retryable) attempt = null;
    button.textContent = error.retryable ? "Retry order" : "Place order";
    $("error").focus();
  } finally {
    placing = false;
    button.disabled = false;
  }
}

// -- order page ----------------------------------------------------------------------------------

function renderOrder(order) {
  $("order-title").textContent = `Order ${order.id.slice(0, 8)}`;
  const status = $("order-status");
  if (status.textContent !== order.status) status.textContent = order.status;
  status.dataset.status = order.status;
  $("order-history").replaceChildren(
    ...order.history.map((change) => {
      const li = document.createElement("li");
      const when = new Date(change.at).toLocaleTimeString("en");
      li.textContent = `${change.status} at ${when}${change.reason ? ` (${change.reason})` : ""}`;
      return li;
    }),
  );
  $("order-lines").replaceChildren(
    ...order.items.map((line) => {
      const tr = document.createElement("tr");
      tr.append(cell(line.sku), cell(String(line.quantity)), cell(money.format(line.unit_price_cents / 100)));
      return tr;
    }),
  );
}

function follow(orderId) {
  let delay = POLL_FIRST_MS;
  let stopped = false;
  let timer = 0;
  const tick = async () => {
    try {
      const order = await getOrder(orderId);
      if (stopped) return;
      renderOrder(order);
      showError(null);
      if (FINAL.has(order.status)) {
        $("order-note").textContent = order.status === "fulfilled" ? "Your order is on its way." : "This order has ended.";
        return;
      }
      $("order-note").textContent = "Updating live…";
    } catch (error) {
      if (stopped) return;
      if (!error.retryable) {
        showError(error);
        $("order-note").textContent = "";
        return;
      }
      showError(new ApiError(error.status, `${error.message} Retrying in ${Math.round(delay / 1000) || 1} s.`));
    }
    timer = setTimeout(tick, delay);
    delay = Math.min(POLL_MAX_MS, delay * POLL_FACTOR);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// -- routing -------------------------------------------------------------------------------------

function route() {
  if (poller) poller();
  poller = null;
  showError(null);
  const match = location.hash.match(/^#\/orders\/([0-9a-f-]{36})$/);
  $("catalogue").hidden = Boolean(match);
  $("order").hidden = !match;
  if (match) {
    $("order-status").textContent = "…";
    $("order-history").replaceChildren();
    $("order-lines").replaceChildren();
    poller = follow(match[1]);
    focusHeading("order-title");
  } else {
    loadProducts();
    focusHeading("catalogue-title");
  }
}

function start() {
  $("sign-in").addEventListener("submit", onSignIn);
  $("order-form").addEventListener("submit", onPlaceOrder);
  $("order-form").addEventListener("input", updateTotal);
  const customer = currentCustomer();
  if (customer) {
    $("customer").value = customer;
    $("signed-in").textContent = `Signed in as ${customer}`;
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
