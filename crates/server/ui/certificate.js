// The printable certificate at /certificates/{number}/print.
//
// The page itself is the same for every number and holds no personal data; it fetches the
// signed document with a token it finds in this tab's sessionStorage: the candidate page's
// token ('xcert.candidate.token'), which the browser copies into a tab opened with
// window.open(), else the staff console's ('xcert.staff.token'). It falls back to the opener
// tab's sessionStorage (same origin). No token ever travels in a URL.
(function () {
  'use strict';

  const CANDIDATE_KEY = 'xcert.candidate.token';
  const STAFF_KEY = 'xcert.staff.token';
  const LEVELS = { junior: '初级 Junior', intermediate: '中级 Intermediate', senior: '高级 Senior' };

  const match = window.location.pathname.match(/^\/certificates\/([^/]+)\/print$/);
  const number = match ? decodeURIComponent(match[1]) : '';
  let signedDocument = null;

  function stored(key) {
    try {
      const own = sessionStorage.getItem(key);
      if (own) return own;
    } catch (_) { /* storage unavailable */ }
    try {
      if (window.opener && window.opener.sessionStorage) return window.opener.sessionStorage.getItem(key);
    } catch (_) { /* another origin or closed */ }
    return null;
  }

  function fail(text) {
    const error = document.getElementById('print-error');
    error.textContent = text;
    error.hidden = false;
  }

  function set(id, text) {
    document.getElementById(id).textContent = text;
  }

  async function fetchDocument() {
    const attempts = [
      [CANDIDATE_KEY, '/api/v1/candidate/certificates/'],
      [STAFF_KEY, '/api/v1/issued-certificates/'],
    ];
    let last = null;
    for (const [key, prefix] of attempts) {
      const token = stored(key);
      if (!token) continue;
      const response = await fetch(prefix + encodeURIComponent(number) + '/document', {
        headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      });
      if (response.ok) return response.json();
      last = response.status;
    }
    if (last === null) {
      throw new Error('请从考生页面的“打印证书”链接打开本页（需要登录）。Open this page from the “Print certificate” link of the candidate page (you need to be logged in).');
    }
    if (last === 404) throw new Error('找不到此证书，或它不属于当前登录的考生。No such certificate for the logged-in candidate.');
    throw new Error('登录已过期，请重新登录后再打开。The login has expired; log in again and reopen this page.');
  }

  function render(documentBody) {
    const payload = documentBody.payload;
    set('holder-name', payload.holder_name);
    set('holder-document', payload.holder_document);
    set('certificate-title', payload.certificate_title);
    set('certificate-code', payload.certificate_code);
    set('certificate-level', LEVELS[payload.certificate_level] || payload.certificate_level);
    set('exam-date', payload.exam_date);
    set('issued-at', payload.issued_at.slice(0, 10));
    set('credits', String(payload.credits));
    set('issuer', payload.issuer_name + ' (' + payload.issuer_code + ')');
    set('number', payload.number);
    set('verify-url', window.location.origin + '/verify?number=' + encodeURIComponent(payload.number));
    set('key-id', documentBody.key_id);
    set('signature', documentBody.signature);
    document.title = payload.certificate_title + ' · ' + payload.number;
    document.getElementById('sheet').hidden = false;
    document.getElementById('print-actions').hidden = false;
  }

  document.getElementById('print-button').addEventListener('click', function () { window.print(); });
  document.getElementById('save-button').addEventListener('click', function () {
    if (!signedDocument) return;
    const blob = new Blob([JSON.stringify(signedDocument, null, 2) + '\n'], { type: 'application/json' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = 'certificate-' + signedDocument.payload.number + '.json';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  });

  if (!number) {
    fail('地址中没有证书编号。The address names no certificate number.');
    return;
  }
  fetchDocument().then(function (body) {
    signedDocument = body;
    render(body);
  }).catch(function (error) {
    fail(error.message || String(error));
  });
})();
