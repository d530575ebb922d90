// The partner guide's flow with Node's built-in fetch, against a running sandbox.
//
// Reads PARTNER_API_URL, PARTNER_ID, PARTNER_TOKEN, PARTNER_BAD_TOKEN and WORKSPACE_NAME; prints one
// line per step and exits 1 at the first failed check. No npm packages.

import process from "node:process";

const ENVELOPE_KEYS = ["description", "error", "status"];
const TIMEOUT_MS = 30_000;
const HOUR_MS = 3_600_000;

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

const show = (value) => JSON.stringify(value);
const isInt = (value) => Number.isInteger(value);
const byNumber = (a, b) => a - b;
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

function timestamp(step, value) {
  check(typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value),
    `${step}: timestamp ${show(value)} is not RFC 3339`);
  return Date.parse(value);
}

function ok(step, detail) {
  console.log(`ok ${step}: ${detail}`);
}

/** A fetch: the status, headers and text of the answer. */
async function call(url, { method = "GET", headers, json } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(TIMEOUT_MS) };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function mediaType(response) {
  return (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

function jsonBody(step, response) {
  try {
    return JSON.parse(response.text);
  } catch {
    throw new CheckFailed(`${step}: the body is not JSON: ${show(response.text)}`);
  }
}

/** The answer has this status, is JSON with X-TL-API-Version: v1 (and Cache-Control: no-store when it
 * holds a secret); returns its body, a JSON object. */
function success(step, response, status, { noStore = false } = {}) {
  check(response.status === status, `${step}: status ${response.status}, expected ${status}: ${response.text}`);
  check(mediaType(response) === "application/json",
    `${step}: content-type ${show(response.headers.get("content-type"))}`);
  check(response.headers.get("x-tl-api-version") === "v1",
    `${step}: X-TL-API-Version ${show(response.headers.get("x-tl-api-version"))}`);
  if (noStore) {
    check(response.headers.get("cache-control") === "no-store",
      `${step}: Cache-Control ${show(response.headers.get("cache-control"))}`);
  }
  const body = jsonBody(step, response);
  check(isObject(body), `${step}: the body is not a JSON object: ${response.text}`);
  return body;
}

/** The answer is the PartnerAPIError envelope with this status and code. */
function failure(step, response, status, code) {
  check(response.status === status, `${step}: status ${response.status}, expected ${status}: ${response.text}`);
  check(mediaType(response) === "application/json",
    `${step}: content-type ${show(response.headers.get("content-type"))}`);
  const body = jsonBody(step, response);
  check(isObject(body) && show(Object.keys(body).sort()) === show(ENVELOPE_KEYS),
    `${step}: not the error envelope: ${response.text}`);
  check(body.error === code, `${step}: error ${show(body.error)}, expected ${show(code)}`);
  check(body.status === status, `${step}: status field ${show(body.status)}`);
  check(typeof body.description === "string" && body.description !== "",
    `${step}: description ${show(body.description)}`);
  return body;
}

async function run({ baseUrl, partnerId, token, badToken, name }) {
  const expectedId = name.toLowerCase().slice(0, 30);
  const headers = { Authorization: `Bearer ${token}`, "X-TL-Partner-Id": partnerId };
  const api = (path) => `${baseUrl}${path}`;

  let step = "create-workspace";
  let body = success(step, await call(api("/workspaces"), {
    method: "POST", headers, json: { display_name: name, seats_purchased: 3 },
  }), 201);
  check(body.workspace_id === expectedId, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.display_name === name, `${step}: display_name ${show(body.display_name)}`);
  check(isInt(body.plan_id), `${step}: plan_id ${show(body.plan_id)}`);
  check(body.seats_total === 3, `${step}: seats_total ${show(body.seats_total)}`);
  check(body.seats_available === 2, `${step}: seats_available ${show(body.seats_available)}`);
  check(isInt(body.owner_user_id), `${step}: owner_user_id ${show(body.owner_user_id)}`);
  const workspace = body.workspace_id;
  const owner = body.owner_user_id;
  ok(step, `201 ${workspace}, owner ${owner}, 3 seats, 2 free`);

  step = "create-users";
  body = success(step, await call(api(`/workspaces/${workspace}/users`), {
    method: "POST", headers, json: { count: 2 },
  }), 201);
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.seats_total === 3, `${step}: seats_total ${show(body.seats_total)}`);
  check(body.seats_available === 0, `${step}: seats_available ${show(body.seats_available)}`);
  check(Array.isArray(body.users) && body.users.length === 2, `${step}: users ${show(body.users)}`);
  for (const user of body.users) {
    check(isObject(user) && isInt(user.user_id), `${step}: user ${show(user)}`);
    check(typeof user.display_name === "string", `${step}: display_name of ${show(user)}`);
    check(typeof user.email === "string" && user.email.includes("@"), `${step}: email of ${show(user)}`);
    check(user.role === "agent", `${step}: role of ${show(user)}`);
    check(user.status === "active", `${step}: status of ${show(user)}`);
    timestamp(step, user.created_at);
  }
  const userIds = body.users.map((user) => user.user_id);
  check(new Set([owner, ...userIds]).size === 3,
    `${step}: user ids ${show(userIds)} (owner ${owner}) are not distinct`);
  const first = userIds[0];
  ok(step, `201 users ${userIds[0]} and ${userIds[1]}, 0 seats free`);

  step = "qr-with-body";
  const qrUrl = api(`/workspaces/${workspace}/users/${first}/qr`);
  body = success(step, await call(qrUrl, { method: "POST", headers, json: { expires_in_hours: 2 } }), 200,
    { noStore: true });
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.user_id === first, `${step}: user_id ${show(body.user_id)}`);
  check(typeof body.qr_link === "string" && body.qr_link.startsWith("http"), `${step}: qr_link ${show(body.qr_link)}`);
  const shortExpiry = timestamp(step, body.expires_at);
  check(body.whatsapp_disconnected === false, `${step}: whatsapp_disconnected ${show(body.whatsapp_disconnected)}`);
  check(body.previous_qr_revoked === false, `${step}: previous_qr_revoked ${show(body.previous_qr_revoked)}`);
  const firstLink = body.qr_link;
  ok(step, `200 link for user ${first} expiring ${body.expires_at}`);

  step = "qr-without-body";
  body = success(step, await call(qrUrl, { method: "POST", headers }), 200, { noStore: true });
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.user_id === first, `${step}: user_id ${show(body.user_id)}`);
  check(typeof body.qr_link === "string" && body.qr_link.startsWith("http"), `${step}: qr_link ${show(body.qr_link)}`);
  check(body.qr_link !== firstLink, `${step}: the same qr_link as before`);
  // 24 hours (the default) against the 2 hours asked for: 22 hours apart, give or take the seconds between.
  const gapMs = timestamp(step, body.expires_at) - shortExpiry;
  check(Math.abs(gapMs - 22 * HOUR_MS) <= 5 * 60_000,
    `${step}: expires_at ${body.expires_at} is ${gapMs / HOUR_MS} h after the 2-hour link's, expected 22 h`);
  check(body.whatsapp_disconnected === false, `${step}: whatsapp_disconnected ${show(body.whatsapp_disconnected)}`);
  check(body.previous_qr_revoked === true, `${step}: previous_qr_revoked ${show(body.previous_qr_revoked)}`);
  const link = body.qr_link;
  ok(step, `200 new link for user ${first} expiring ${body.expires_at}, previous revoked`);

  step = "get-workspace";
  body = success(step, await call(api(`/workspaces/${workspace}`), { headers }), 200, { noStore: true });
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.display_name === name, `${step}: display_name ${show(body.display_name)}`);
  check(isObject(body.seats) && body.seats.total === 3 && body.seats.used === 3, `${step}: seats ${show(body.seats)}`);
  for (const quota of ["messages_quota", "api_calls_quota"]) {
    const value = body[quota];
    check(isObject(value) && isInt(value.total) && isInt(value.used), `${step}: ${quota} ${show(value)}`);
  }
  check(isObject(body.non_recurring_quota), `${step}: non_recurring_quota ${show(body.non_recurring_quota)}`);
  check(Array.isArray(body.users) && body.users.every(isObject)
      && show(body.users.map((user) => user.user_id).sort(byNumber)) === show([owner, ...userIds].sort(byNumber)),
    `${step}: users ${show(body.users)}, expected the owner ${owner} and users ${show(userIds)}`);
  const links = body.qr_links;
  check(Array.isArray(links) && links.length === 1 && isObject(links[0]),
    `${step}: qr_links ${show(links)}, expected the one active link`);
  check(links[0].qr_link === link && links[0].user_id === first,
    `${step}: qr_links ${show(links)}, expected user ${first}'s link ${link}`);
  timestamp(step, links[0].expires_at);
  ok(step, "200 3 users, seats 3/3, 1 active link");

  step = "disconnect";
  body = success(step, await call(api(`/workspaces/${workspace}/users/${first}/whatsapp/disconnect`), {
    method: "POST", headers,
  }), 200);
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(body.user_id === first, `${step}: user_id ${show(body.user_id)}`);
  check(body.disconnected === false, `${step}: disconnected ${show(body.disconnected)}`);
  check(typeof body.description === "string" && body.description !== "",
    `${step}: description ${show(body.description)}`);
  ok(step, `200 disconnected=false (${body.description})`);

  step = "token-get";
  const tokenUrl = api(`/workspaces/${workspace}/api-token`);
  body = success(step, await call(tokenUrl, { headers }), 200, { noStore: true });
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(typeof body.token === "string" && body.token !== "", `${step}: token ${show(body.token)}`);
  const oldToken = body.token;
  ok(step, "200 a token");

  step = "token-rotate";
  body = success(step, await call(tokenUrl, { method: "POST", headers }), 201, { noStore: true });
  check(body.workspace_id === workspace, `${step}: workspace_id ${show(body.workspace_id)}`);
  check(typeof body.token === "string" && body.token !== "", `${step}: token ${show(body.token)}`);
  check(body.token !== oldToken, `${step}: the token did not change`);
  timestamp(step, body.rotated_at);
  const newToken = body.token;
  ok(step, `201 a new token, rotated at ${body.rotated_at}`);

  step = "token-get-after-rotate";
  body = success(step, await call(tokenUrl, { headers }), 200, { noStore: true });
  check(body.token === newToken, `${step}: token is not the rotated one`);
  ok(step, "200 the rotated token");

  step = "error-400";
  body = failure(step, await call(api("/workspaces"), {
    method: "POST", headers, json: { display_name: "Not Valid!", seats_purchased: 1 },
  }), 400, "invalid_request");
  check(body.description.includes("display_name"),
    `${step}: the description does not name the field: ${show(body.description)}`);
  ok(step, body.description);

  step = "error-401";
  const response = await call(api(`/workspaces/${workspace}`), {
    headers: { ...headers, Authorization: `Bearer ${badToken}` },
  });
  body = failure(step, response, 401, "invalid_signature");
  check((response.headers.get("www-authenticate") ?? "").startsWith("Bearer "),
    `${step}: WWW-Authenticate ${show(response.headers.get("www-authenticate"))}`);
  ok(step, body.description);

  step = "error-404";
  body = failure(step, await call(api(`/workspaces/${workspace}-missing`), { headers }), 404, "workspace_not_found");
  ok(step, body.description);

  step = "error-409";
  body = failure(step, await call(api("/workspaces"), {
    method: "POST", headers, json: { display_name: name, seats_purchased: 3 },
  }), 409, "workspace_creation_failed");
  ok(step, body.description);
}

const names = ["PARTNER_API_URL", "PARTNER_ID", "PARTNER_TOKEN", "PARTNER_BAD_TOKEN", "WORKSPACE_NAME"];
const missing = names.filter((key) => !process.env[key]);
if (missing.length > 0) {
  console.error(`FAIL: environment variable(s) ${missing.join(", ")} not set`);
  process.exit(2);
}
try {
  await run({
    baseUrl: process.env.PARTNER_API_URL,
    partnerId: process.env.PARTNER_ID,
    token: process.env.PARTNER_TOKEN,
    badToken: process.env.PARTNER_BAD_TOKEN,
    name: process.env.WORKSPACE_NAME,
  });
} catch (error) {
  if (error instanceof CheckFailed) {
    console.error(`FAIL ${error.message}`);
  } else {
    console.error(`FAIL the request failed: ${error?.stack ?? error}${error?.cause ? ` (cause: ${error.cause})` : ""}`);
  }
  process.exit(1);
}
console.log("all steps passed");
