'use strict';
// The embedded QR page (display_mode=embedding): the default UI inside the partner's iframe, and
// the published postMessage protocol with the parent page. The flow's state is the server's
// (GET/POST <link>/flow, polled); this script draws it and tells the parent what changed.
(() => {
  const root = document.getElementById('embed');
  if (!root) return;
  const origins = JSON.parse(root.dataset.origins); // the partner's registered embedding origins
  const pollMs = Number(root.dataset.pollMs);
  const flowUrl = location.pathname.replace(/\/+$/, '') + '/flow';
  const framed = window.parent !== window;
  // CSP frame-ancestors lets only registered origins frame this page: post to the one the parent
  // is on where the browser tells it, else to each registered origin.
  const ancestor = location.ancestorOrigins && location.ancestorOrigins.length ? location.ancestorOrigins[0] : null;
  const parents = ancestor === null ? origins : origins.filter((o) => o === ancestor);
  const $ = (id) => document.getElementById(id);
  const GONE = {
    revoked: 'This QR link was revoked: a newer link was issued for this user.',
    expired: 'This QR link has expired.',
  };
  let replyTo = null; // the origin whose message started the current step
  let qrForParent = false; // the QR flow was started by TIMELINES_START_QR
  let codeForParent = false; // the pairing code was asked for by TIMELINES_START_PHONE_LINKING
  let shownRef = null;
  let shownCode = null;
  let seenError = Number(root.dataset.errorSeq);
  let done = false;

  const post = (message, targets) => {
    if (!framed) return;
    for (const origin of targets) window.parent.postMessage(message, origin);
  };
  const say = (text, kind) => {
    const el = $('message');
    el.textContent = text;
    el.className = kind || '';
  };
  const show = (id, visible) => { $(id).hidden = !visible; };

  async function call(path, body) {
    const init = body === undefined ? { cache: 'no-store' } : {
      method: 'POST', cache: 'no-store', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    };
    const response = await fetch(flowUrl + path, init);
    const data = await response.json();
    if (!response.ok) {
      say(data.description, 'error');
      return null;
    }
    return data;
  }

  function render(s) {
    if (done) return;
    if (s.link === 'used') {
      done = true;
      post({ type: 'TIMELINES_QR_CONNECTED' }, parents);
      for (const id of ['qr-flow', 'phone-flow']) show(id, false);
      $('state').textContent = 'used';
      say('WhatsApp connected. This QR link is now used.', 'ok');
      return;
    }
    if (s.link !== 'active') {
      done = true;
      for (const id of ['qr-flow', 'phone-flow']) show(id, false);
      $('state').textContent = s.link;
      say(GONE[s.link], 'error');
      return;
    }
    if (s.error && s.error.id > seenError) {
      seenError = s.error.id;
      qrForParent = false;
      codeForParent = false;
      say(s.error.message, 'error');
      post({ type: 'TIMELINES_ERROR', error: '', message: s.error.message }, parents);
    }
    const qr = s.qr && s.qr.image ? s.qr : null;
    if (qr && qr.ref !== shownRef) {
      shownRef = qr.ref;
      $('qr-image').src = qr.image;
      if (qrForParent && replyTo) post({ type: 'TIMELINES_QR_CODE_DATA', data: qr.image }, [replyTo]);
    }
    if (!qr) shownRef = null;
    show('qr-figure', qr !== null);
    show('simulate-scan', qr !== null);
    if (qr) $('qr-rotates-in').textContent = `${Math.max(0, Math.ceil(qr.rotates_in_ms / 1000))} s`;
    if (s.qr && s.qr.timed_out) say('The QR code timed out: nobody scanned it. Generate a new one.', 'error');
    const pairing = s.pairing;
    if (pairing && pairing.code !== shownCode) {
      shownCode = pairing.code;
      $('pairing-code').textContent = `${pairing.code.slice(0, 4)}-${pairing.code.slice(4)}`;
      $('pairing-phone').textContent = pairing.phone;
      if (codeForParent && replyTo) post({ type: 'TIMELINES_PAIRING_CODE', code: pairing.code }, [replyTo]);
    }
    if (!pairing) shownCode = null;
    show('pairing', pairing !== null);
  }

  async function step(path, body, byParent, origin) {
    if (done) return;
    if (byParent) replyTo = origin;
    say('');
    const s = await call(path, body);
    if (s) render(s);
  }
  const startQr = (byParent, origin) => {
    qrForParent = byParent;
    shownRef = null;
    return step('/qr', {}, byParent, origin);
  };
  const requestCode = (phone, byParent, origin) => {
    codeForParent = byParent;
    shownCode = null;
    return step('/phone', { phone }, byParent, origin);
  };

  async function poll() {
    try {
      const s = await call('');
      if (s) render(s);
    } catch (e) {
      say('The sandbox cannot be reached; retrying.', 'error');
    }
    if (!done) setTimeout(poll, pollMs);
  }

  // Inbound messages: only from the parent, only from a registered origin; anything else is ignored.
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || !origins.includes(event.origin)) return;
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    if (message.type === 'TIMELINES_START_QR') startQr(true, event.origin);
    else if (message.type === 'TIMELINES_START_PHONE_LINKING') {
      requestCode(typeof message.phone === 'string' ? message.phone : '', true, event.origin);
    }
  });
  $('start-qr').addEventListener('click', () => startQr(false));
  $('request-code').addEventListener('click', () => requestCode($('phone').value.trim(), false));
  $('simulate-scan').addEventListener('click', () => step('/scan', { qr: shownRef }, false));
  poll();
})();
