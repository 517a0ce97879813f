// Public certificate verification: asks GET /api/v1/issued-certificates/{number} and shows the
// status (valid, revoked, unknown) with the few facts the server returns. No token, no storage.
(function () {
  'use strict';

  const form = document.getElementById('verify-form');
  const input = document.getElementById('number');
  const button = document.getElementById('verify-button');
  const outcome = document.getElementById('outcome');
  const title = document.getElementById('verdict-title');
  const message = document.getElementById('verdict-message');
  const facts = document.getElementById('verdict-facts');

  const LEVELS = { junior: '初级 Junior', intermediate: '中级 Intermediate', senior: '高级 Senior' };

  function fact(label, value) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    facts.append(dt, dd);
  }

  function show(state, heading, text) {
    outcome.hidden = false;
    outcome.dataset.state = state;
    title.textContent = heading;
    message.textContent = text;
    facts.replaceChildren();
  }

  async function verify(number) {
    button.disabled = true;
    try {
      const response = await fetch('/api/v1/issued-certificates/' + encodeURIComponent(number), {
        headers: { Accept: 'application/json' },
      });
      let body = null;
      try { body = await response.json(); } catch (_) { body = null; }
      if (!body || (response.status !== 200 && response.status !== 404)) {
        show('error', '暂时无法查验 Cannot verify now',
          '服务器没有给出答复，请稍后再试。The server did not answer; try again later.');
        return;
      }
      if (body.status === 'unknown') {
        show('unknown', '查无此证书 Unknown number',
          (body.error && body.error.message) || 'No certificate has this number.');
        return;
      }
      if (body.status === 'revoked') {
        show('revoked', '证书已撤销 Revoked',
          '此证书已被撤销，不再有效。This certificate was revoked and is no longer valid.');
        fact('撤销时间 Revoked at', body.revoked_at || '');
        fact('撤销原因 Reason', body.revocation_reason || '');
      } else {
        show('valid', '证书有效 Valid',
          '此证书由下列机构颁发，目前有效。This certificate was issued as shown and is valid.');
      }
      fact('证书编号 Number', body.number);
      fact('持证人 Holder', body.holder_name);
      fact('证件号码 ID number', body.holder_document);
      fact('证书 Certificate', body.certificate.title + ' (' + body.certificate.code + ', ' +
        (LEVELS[body.certificate.level] || body.certificate.level) + ')');
      fact('考试日期 Exam date', body.exam_date);
      fact('颁发日期 Issued', body.issued_at);
      fact('颁发机构 Issuer', body.issuer.name + ' (' + body.issuer.code + ')');
    } catch (_) {
      show('error', '网络错误 Network error',
        '无法连接服务器，请检查网络后再试。The server cannot be reached; check the network.');
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const number = input.value.trim();
    if (!number) {
      show('unknown', '请输入编号 Type a number', '证书编号印在证书上。The number is printed on the certificate.');
      input.focus();
      return;
    }
    const url = new URL(window.location.href);
    url.searchParams.set('number', number);
    window.history.replaceState(null, '', url.pathname + url.search);
    verify(number);
  });

  const preset = new URLSearchParams(window.location.search).get('number');
  if (preset) {
    input.value = preset;
    verify(preset.trim());
  }
})();
