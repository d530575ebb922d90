// The dashboard: signs a partner in, then shows and changes its world through the same control and
// Partner API operations any client calls, with the partner's token (so the APIs' tenant rules are
// the page's). Data becomes DOM only through textContent and attributes, never as HTML. Polls every
// POLL_MS while the tab is visible; a part of the page is redrawn only when its data changed.
"use strict";
(function () {
  var POLL_MS = 2000;
  var CONTROLS = "/sandbox/v1", PARTNER = "/partner/api/v1";
  var CAUSES = ["qr_mismatch", "server_ban", "logged_out", "logged_out_client", "banned", "payment_required",
    "pairing_code_timeout", "pairing_code_request_failed"];
  var session = null;  // {token, partner}
  var timer = null, seen = {}, workspaceBlocks = new Map(), blocksMade = 0;
  var $ = function (id) { return document.getElementById(id); };

  // --- DOM ---------------------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "on") Object.keys(v).forEach(function (e) { el.addEventListener(e, v[e]); });
      else el.setAttribute(k, v === true ? "" : String(v));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) {
        if (x !== null && x !== undefined && x !== false) el.append(x.nodeType ? x : document.createTextNode(String(x)));
      });
    }
    return el;
  }
  function pretty(text) {
    if (text === null || text === undefined) return "(none)";
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
  }
  function say(text, kind) { var s = $("status"); s.textContent = text; s.className = kind || ""; }
  // Redraw `el`'s children from `build()`, keeping which <details> were open and the focus (by data-key).
  function redraw(el, build) {
    var open = new Set(), focused = document.activeElement && el.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-key") : null;
    el.querySelectorAll("details[open][data-key]").forEach(function (d) { open.add(d.getAttribute("data-key")); });
    el.replaceChildren.apply(el, build());
    el.querySelectorAll("details[data-key]").forEach(function (d) { if (open.has(d.getAttribute("data-key"))) d.open = true; });
    if (focused) { var f = el.querySelector('[data-key="' + CSS.escape(focused) + '"]'); if (f) f.focus(); }
  }
  function changed(name, data) {
    var text = JSON.stringify(data);
    if (seen[name] === text) return false;
    seen[name] = text;
    return true;
  }

  // --- the APIs --------------------------------------------------------------------------------------
  function ApiFailure(status, document) {
    this.status = status;
    this.code = document && document.error;
    this.message = document && document.description ? document.error + ": " + document.description
      : "HTTP " + status;
  }
  // A call with the session's token; a 401 ends that session (not one started since). `raw`: the
  // answer's Response itself (a download), else its JSON.
  async function api(method, path, body, raw) {
    var mine = session;
    if (!mine) throw new Error("signed out");
    var headers = {"Authorization": "Bearer " + mine.token, "X-TL-Partner-Id": mine.partner};
    var init = {method: method, headers: headers, cache: "no-store", credentials: "omit"};
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    var r = await fetch(path, init);
    if (raw && r.ok) return r;
    var text = await r.text(), doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
    if (r.status === 401 && session === mine) { signOut("Your session ended (" + ((doc && doc.description) || "401") + "): sign in again."); }
    if (!r.ok) throw new ApiFailure(r.status, doc);
    if (session !== mine) throw new Error("signed out");
    return doc;
  }
  // An action: its call, then what to say, then a fresh poll. Errors are said, never thrown.
  async function act(label, call) {
    say(label + "…");
    try {
      var note = await call();
      say(note || label + ": done.", "ok");
    } catch (e) {
      if (!session) return;
      say(label + " failed: " + (e.message || e), "error");
    }
    poll(true);
  }

  // --- sign-in -------------------------------------------------------------------------------------
  function claims(jwt) {
    var part = (jwt.split(".")[1] || "").replace(/-/g, "+").replace(/_/g, "/");
    try { return JSON.parse(atob(part + "===".slice((part.length + 3) % 4))); } catch (e) { return null; }
  }
  async function start(token, partner) {
    session = {token: token, partner: partner};
    try {
      await api("GET", CONTROLS + "/clock");
    } catch (e) {
      session = null;
      $("sign-in-error").textContent = "Sign-in failed: " + e.message;
      return;
    }
    sessionStorage.setItem("sandbox-session", JSON.stringify(session));
    $("sign-in-error").textContent = "";
    $("sign-in").hidden = true;
    $("app").hidden = false;
    $("who").hidden = false;
    $("who-partner").textContent = partner;
    $("secret").value = "";
    $("jwt").value = "";
    loadSettings();
    poll(true);
  }
  function signOut(why) {
    session = null;
    sessionStorage.removeItem("sandbox-session");
    clearTimeout(timer);
    seen = {};
    workspaceBlocks = new Map();
    ["workspaces", "journal", "deliveries"].forEach(function (id) { $(id).replaceChildren(); });
    $("app").hidden = true;
    $("who").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = why || "";
    $("partner-id").focus();
  }
  $("secret-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var partner = $("partner-id").value.trim();
    try {
      var r = await fetch(CONTROLS + "/tokens", {method: "POST", headers: {"Content-Type": "application/json"},
        cache: "no-store", credentials: "omit", body: JSON.stringify({partner_id: partner, secret: $("secret").value})});
      var doc = await r.json();
      if (!r.ok) { $("sign-in-error").textContent = "Sign-in failed: " + doc.error + ": " + doc.description; return; }
      await start(doc.token, doc.partner_id);
    } catch (e) {
      $("sign-in-error").textContent = "Sign-in failed: " + e.message;
    }
  });
  $("jwt-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = $("jwt").value.trim(), c = claims(token);
    if (!c || typeof c.partner_id !== "string") {
      $("sign-in-error").textContent = "Sign-in failed: that is not a JWT with a partner_id claim.";
      return;
    }
    start(token, c.partner_id);
  });
  $("sign-out").addEventListener("click", function () { signOut(""); });

  // --- polling -------------------------------------------------------------------------------------
  async function poll(now) {
    clearTimeout(timer);
    var mine = session;
    if (!mine) return;
    if (!document.hidden || now) {
      try {
        var got = await Promise.all([
          api("GET", CONTROLS + "/clock"), api("GET", CONTROLS + "/workspaces?limit=200"),
          api("GET", CONTROLS + "/requests?limit=50"), api("GET", CONTROLS + "/webhook/deliveries?limit=50")]);
        if (session !== mine) return;  // signed out, or in as someone else, meanwhile
        if (changed("clock", got[0])) showClock(got[0]);
        if (changed("workspaces", got[1])) showWorkspaces(got[1].workspaces);
        if (changed("journal", got[2])) redraw($("journal"), function () { return journal(got[2].requests); });
        if (changed("deliveries", got[3])) redraw($("deliveries"), function () { return deliveries(got[3].deliveries); });
      } catch (e) {
        if (session !== mine) return;
        say("Could not refresh: " + (e.message || e), "error");
      }
    }
    if (session === mine) timer = setTimeout(poll, POLL_MS);
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(true); });

  // --- the clock -----------------------------------------------------------------------------------
  function showClock(c) {
    $("clock-now").textContent = c.now;
    $("clock-now").setAttribute("datetime", c.now);
    $("clock-mode").textContent = c.frozen ? "(frozen)" : c.offset_seconds ? "(" + offset(c.offset_seconds) + " from real time)" : "(real time)";
    $("clock-freeze").textContent = c.frozen ? "Unfreeze" : "Freeze";
    $("clock-freeze").setAttribute("aria-pressed", c.frozen ? "true" : "false");
  }
  function offset(seconds) {
    var s = Math.abs(Math.round(seconds)), d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60);
    return (seconds < 0 ? "-" : "+") + (d ? d + "d " : "") + hh + "h " + m + "m";
  }
  function moveClock(label, command) { act(label, function () { return api("POST", CONTROLS + "/clock", command).then(function (c) { return label + ": the clock reads " + c.now + "."; }); }); }
  $("clock-hour").addEventListener("click", function () { moveClock("+1 hour", {advance_seconds: 3600}); });
  $("clock-day").addEventListener("click", function () { moveClock("+1 day", {advance_seconds: 86400}); });
  $("clock-next-month").addEventListener("click", function () {
    // from the clock as it reads now (not as last drawn): the first second of the month after
    act("Next month", async function () {
      var n = new Date((await api("GET", CONTROLS + "/clock")).now);
      var first = new Date(Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 1, 1, 0, 0, 1));
      var c = await api("POST", CONTROLS + "/clock", {set: first.toISOString().replace(/\.\d{3}Z$/, "Z")});
      return "Next month: the clock reads " + c.now + ".";
    });
  });
  $("clock-freeze").addEventListener("click", function () {
    var frozen = $("clock-freeze").getAttribute("aria-pressed") === "true";
    moveClock(frozen ? "Unfreeze" : "Freeze", {freeze: !frozen});
  });
  $("clock-real").addEventListener("click", function () { moveClock("Real time", {real: true}); });
  $("clock-set-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var v = $("clock-set").value;
    moveClock("Set the clock", {set: (v.length === 16 ? v + ":00" : v) + "Z"});
  });
  $("reset-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    act("Reset", function () { return api("POST", CONTROLS + "/reset").then(function () { return "Reset: your workspaces are the fixtures' again."; }); });
  });

  // --- the world -----------------------------------------------------------------------------------
  function quota(label, q, extra) {
    return h("div", {"class": "quota"}, label, h("b", {text: q.used + " / " + q.total}), extra || null);
  }
  function period(q) { return q.period_start ? h("span", {"class": "muted", text: q.period_start.slice(0, 10) + " – " + q.period_end.slice(0, 10)}) : null; }
  function worldOf(ws) {
    var accounts = new Map(ws.whatsapp_accounts.map(function (a) { return [a.user_id, a]; }));
    var links = new Map(ws.qr_links.map(function (l) { return [l.user_id, l]; }));
    var rows = ws.users.map(function (u) {
      var a = accounts.get(u.user_id), l = links.get(u.user_id);
      return h("tr", {"data-user": u.user_id},
        h("td", {text: u.user_id}), h("td", {text: u.display_name}), h("td", {"class": "role", text: u.role}),
        h("td", {"class": u.status === "active" ? "" : "warn", text: u.status}),
        h("td", {"class": a && a.connected ? "ok" : "muted", text: a ? (a.connected ? "connected " + a.phone_number_e164 : "disconnected") : "none"}),
        h("td", null, l ? [h("a", {href: l.qr_link, target: "_blank", rel: "noopener noreferrer", text: "QR page"}),
          h("span", {"class": "muted", text: " until " + l.expires_at})] : h("span", {"class": "muted", text: "none"})));
    });
    return [
      [h("div", {"class": "quotas"},
        quota("Seats", ws.seats),
        quota("Messages", ws.messages_quota, period(ws.messages_quota)),
        quota("Public API calls", ws.api_calls_quota, period(ws.api_calls_quota)),
        h("div", {"class": "quota"}, "Non-recurring balance", h("b", {text: ws.non_recurring_quota.remaining_balance})))],
      [h("div", {"class": "table"}, h("table", null,
        h("caption", {"class": "muted", text: ws.users_total > ws.users.length
          ? "The first " + ws.users.length + " of the " + ws.users_total + " users of " + ws.workspace_id
          : "Users of " + ws.workspace_id}),
        h("thead", null, h("tr", null, ["User", "Name", "Role", "Status", "WhatsApp", "Active QR link"].map(function (t) { return h("th", {scope: "col", "class": t === "Role" ? "role" : null, text: t}); }))),
        h("tbody", null, rows)))]];
  }
  function workspaceBlock(ws, n) {
    var id = function (name) { return name + "-" + n; };
    var wsPath = "/workspaces/" + encodeURIComponent(ws.workspace_id);
    var userSelect = h("select", {id: id("user")});
    var quotas = h("div", {"class": "ws-quotas"}), users = h("div", {"class": "ws-users"});
    var summary = h("summary");
    var cause = h("select", {id: id("cause")}, CAUSES.map(function (c) { return h("option", {value: c, text: c}); }));
    var kind = h("select", {id: id("usage-kind")}, [["messages", "messages"], ["api_calls", "Public API calls"], ["transactions", "transactions"]].map(function (k) { return h("option", {value: k[0], text: k[1]}); }));
    var amount = h("input", {id: id("usage-amount"), type: "number", min: 1, max: 1000000000, value: 100, required: true});
    var user = function () { return wsPath + "/users/" + encodeURIComponent(userSelect.value); };
    var root = h("details", {"class": "workspace", open: true, "data-workspace": ws.workspace_id}, summary, quotas,
      h("div", {"class": "ws-actions"},
        h("form", {"class": "user-actions", on: {submit: function (ev) { ev.preventDefault(); }}},
          h("label", {"for": id("user"), text: "User"}), userSelect,
          h("div", {"class": "actions"},
            h("button", {type: "button", "class": "issue-qr", on: {click: function () {
              act("Issue QR link for user " + userSelect.value, function () {
                return api("POST", PARTNER + user() + "/qr").then(function () { return "A QR link was issued for user " + userSelect.value + "."; });
              });
            }}, text: "Issue QR link"}),
            h("button", {type: "button", "class": "scan", on: {click: function () {
              act("Simulate scan for user " + userSelect.value, function () {
                return api("POST", CONTROLS + user() + "/scan").then(function (s) { return "Scanned: user " + s.user_id + " is connected as " + s.whatsapp.phone_number_e164 + "."; });
              });
            }}, text: "Simulate scan"})),
          h("label", {"for": id("cause"), text: "Failure for the user's next pairing step"}), cause,
          h("div", {"class": "actions"},
            h("button", {type: "button", "class": "force-failure", on: {click: function () {
              act("Force failure", function () {
                return api("PUT", CONTROLS + user() + "/next-failure", {cause: cause.value}).then(function () { return "The next pairing step of user " + userSelect.value + " fails with " + cause.value + "."; });
              });
            }}, text: "Force next failure"}),
            h("button", {type: "button", on: {click: function () {
              act("Clear failure", function () { return api("DELETE", CONTROLS + user() + "/next-failure"); });
            }}, text: "Clear failure"}))),
        h("form", {"class": "usage", on: {submit: function (ev) {
          ev.preventDefault();
          var body = {}; body[kind.value] = Number(amount.value);
          act("Use quota", function () { return api("POST", CONTROLS + wsPath + "/usage", body).then(function () { return "Used " + amount.value + " " + kind.value + " of " + ws.workspace_id + "."; }); });
        }}},
          h("label", {"for": id("usage-kind"), text: "Use some quota"}), kind,
          h("label", {"for": id("usage-amount"), text: "Amount"}), amount,
          h("button", {type: "submit", text: "Use"})),
        h("form", {"class": "token", on: {submit: function (ev) {
          ev.preventDefault();
          act("Rotate the Public API token", function () {
            return api("POST", PARTNER + wsPath + "/api-token").then(function (t) {
              var token = String(t && t.token || "");
              return "The Public API token of " + ws.workspace_id + " was rotated (it now ends in …" + token.slice(-4) + "); the old one no longer works.";
            });
          });
        }}}, h("span", {"class": "muted", text: "Public API token"}),
          h("button", {type: "submit", "class": "rotate", text: "Rotate the Public API token"}))), users);
    return {root: root, summary: summary, quotas: quotas, table: users, userSelect: userSelect, users: ""};
  }
  function showWorkspaces(list) {
    var box = $("workspaces"), ids = new Set(list.map(function (w) { return w.workspace_id; }));
    workspaceBlocks.forEach(function (b, wsId) { if (!ids.has(wsId)) { b.root.remove(); workspaceBlocks.delete(wsId); } });
    if (!list.length) { box.replaceChildren(h("p", {"class": "muted", text: "No workspaces: create one with workspaceCreate."})); return; }
    var empty = box.querySelector("p.muted"); if (empty) empty.remove();
    list.forEach(function (ws, i) {
      var b = workspaceBlocks.get(ws.workspace_id);
      if (!b) { b = workspaceBlock(ws, ++blocksMade); workspaceBlocks.set(ws.workspace_id, b); }
      if (box.children[i] !== b.root) box.insertBefore(b.root, box.children[i] || null);
      b.summary.textContent = ws.display_name === ws.workspace_id ? ws.workspace_id : ws.display_name + " (" + ws.workspace_id + ")";
      var parts = worldOf(ws);
      b.quotas.replaceChildren.apply(b.quotas, parts[0]);
      b.table.replaceChildren.apply(b.table, parts[1]);
      var users = ws.users.map(function (u) { return u.user_id + ":" + u.status; }).join(",");
      if (users !== b.users) {
        var chosen = b.userSelect.value;
        b.userSelect.replaceChildren.apply(b.userSelect, ws.users.map(function (u) {
          return h("option", {value: u.user_id, text: u.user_id + " " + u.display_name + (u.status === "active" ? "" : " (" + u.status + ")")});
        }));
        if (chosen && ws.users.some(function (u) { return String(u.user_id) === chosen; })) b.userSelect.value = chosen;
        b.users = users;
      }
    });
  }

  // --- the journal ---------------------------------------------------------------------------------
  function headersBlock(title, headers) {
    return [h("h3", {text: title}), h("pre", {"class": "code", text: Object.keys(headers || {}).map(function (k) { return k + ": " + headers[k]; }).join("\n") || "(none)"})];
  }
  function journal(entries) {
    if (!entries.length) return [h("li", {"class": "muted", text: "No requests yet: call the Partner API with this partner's token."})];
    return entries.map(function (e) {
      var key = "j" + e.id;
      var bad = e.status >= 400;
      var why = e.error ? h("p", {"class": "why " + (bad ? "error" : "")},
        h("strong", {text: e.error.code + ": "}), e.error.explanation || "", e.error.description ? h("span", {"class": "muted", text: " (" + e.error.description + ")"}) : null) : null;
      return h("li", {"class": "entry" + (bad ? " failed" : "")},
        h("details", {"data-key": key},
          h("summary", {"data-key": "s " + key},
            h("span", {"class": "badge " + (bad ? "error" : "ok"), text: e.status}),
            h("span", {"class": "code", text: e.method + " " + e.path + (e.query ? "?" + e.query : "")}),
            h("time", {"class": "muted", datetime: e.time, text: e.time})),
          headersBlock("Request headers", e.request_headers),
          h("h3", {text: "Request body"}), h("pre", {"class": "code", text: pretty(e.request_body)}),
          headersBlock("Response headers", e.response_headers),
          h("h3", {text: "Response body"}), h("pre", {"class": "code", text: pretty(e.response_body)})),
        why);
    });
  }
  $("har").addEventListener("click", function () {
    act("Download HAR", async function () {
      var partner = session.partner;
      var r = await api("GET", CONTROLS + "/requests/har", undefined, true);
      var url = URL.createObjectURL(await r.blob());
      var a = h("a", {href: url, download: "partner-sandbox-" + partner + ".har", hidden: true});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      return "The journal was downloaded as a HAR file.";
    });
  });

  // --- webhook deliveries --------------------------------------------------------------------------
  function deliveries(list) {
    if (!list.length) return [h("li", {"class": "muted", text: "No webhook events yet: set a webhook URL, then change something."})];
    return list.map(function (d) {
      var cls = d.status === "failed" ? "error" : d.status === "delivered" ? "ok" : "warn";
      var last = d.attempts.length ? d.attempts[d.attempts.length - 1] : null;
      var sig = last && last.signature;
      return h("li", {"class": "delivery", "data-delivery": d.id},
        h("details", {"data-key": "d" + d.id},
          h("summary", {"data-key": "sd" + d.id},
            h("span", {"class": "badge " + cls, text: d.status}),
            h("span", {"class": "code", text: d.event_type}),
            h("span", {"class": "muted", text: d.workspace_id + (d.user_id !== null ? " / user " + d.user_id : "") + " · " + d.attempts.length + " attempt" + (d.attempts.length === 1 ? "" : "s")})),
          h("h3", {text: "Body"}), h("pre", {"class": "code", text: JSON.stringify(d.body, null, 2)}),
          h("h3", {text: "Headers"}), h("pre", {"class": "code", text: "X-TL-Event-Id: " + d.event_id + "\nX-TL-Partner-Id: " + (sig ? sig.claims.partner_id : session.partner) +
            "\nX-TL-Signature: " + (sig ? "an HS256 JWT signed with your secret, claims " + JSON.stringify(sig.claims) : "(no request made yet)")}),
          h("h3", {text: "Attempts"}),
          d.attempts.length ? h("div", {"class": "table"}, h("table", null,
            h("thead", null, h("tr", null, ["At", "Status", "Error", "Latency"].map(function (t) { return h("th", {scope: "col", text: t}); }))),
            h("tbody", null, d.attempts.map(function (a) {
              return h("tr", {"class": "attempt"}, h("td", {text: a.at}), h("td", {text: a.status_code === null ? "—" : a.status_code}),
                h("td", {"class": a.error ? "error" : "ok", text: a.error || "delivered"}), h("td", {text: a.latency_ms + " ms"}));
            })))) : h("p", {"class": "muted", text: "No attempt yet."}),
          d.next_retry_at ? h("p", {"class": "muted", text: "Next attempt at " + d.next_retry_at}) : null),
        d.status === "pending" ? null : h("p", {"class": "buttons"}, h("button", {type: "button", "class": "redeliver", "data-key": "r" + d.id,
          "aria-label": "Send event " + d.event_type + " (" + d.id + ") again", text: "Send again", on: {click: function () {
            act("Send again", function () { return api("POST", CONTROLS + "/webhook/deliveries/" + d.id + "/redeliver").then(function () { return "Event " + d.id + " was queued for delivery again."; }); });
          }}})));
    });
  }

  // --- settings ------------------------------------------------------------------------------------
  // The saved settings into their fields, unless the user has typed into a field meanwhile.
  async function loadSettings() {
    var url = $("webhook-url"), origins = $("origins"), typed = [url.value, origins.value];
    try {
      var got = await Promise.all([api("GET", CONTROLS + "/webhook"), api("GET", CONTROLS + "/embedding-origins")]);
      if (url.value === typed[0]) url.value = got[0].url || "";
      if (origins.value === typed[1]) origins.value = got[1].origins.join("\n");
    } catch (e) { if (session) say("Could not read the settings: " + e.message, "error"); }
  }
  $("webhook-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var url = $("webhook-url").value.trim();
    act("Save webhook URL", function () {
      return (url ? api("PUT", CONTROLS + "/webhook", {url: url}) : api("DELETE", CONTROLS + "/webhook")).then(function () { return url ? "Webhooks go to " + url + "." : "No webhook URL is set."; });
    });
  });
  $("webhook-clear").addEventListener("click", function () {
    $("webhook-url").value = "";
    act("Clear webhook URL", function () { return api("DELETE", CONTROLS + "/webhook").then(function () { return "No webhook URL is set."; }); });
  });
  $("origins-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var origins = $("origins").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
    act("Save embedding origins", function () {
      return api("PUT", CONTROLS + "/embedding-origins", {origins: origins}).then(function (r) {
        $("origins").value = r.origins.join("\n");
        return r.origins.length ? "Your QR links may be embedded by " + r.origins.join(", ") + "." : "No page may embed your QR links.";
      });
    });
  });

  // --- start ---------------------------------------------------------------------------------------
  var kept = null;
  try { kept = JSON.parse(sessionStorage.getItem("sandbox-session") || "null"); } catch (e) { kept = null; }
  if (kept && kept.token && kept.partner) start(kept.token, kept.partner);
  else $("partner-id").focus();
})();
